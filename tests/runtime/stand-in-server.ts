/**
 * A cloud API stand-in for the runtime tests: `serve(handler)` answers every request on a loopback port with what
 * the handler returns (JSON unless `type` says otherwise; no content type for an empty body) and gives its base URL.
 * Call `standInServers()` at the top of a test file: the servers close after each test.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";

export type StandInHandler = (req: IncomingMessage, body: string) => { status: number; body: string; type?: string };

export function standInServers(): (handler: StandInHandler) => Promise<string> {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
  });
  return async (handler) => {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const answer = handler(req, body);
        res.writeHead(answer.status, answer.body ? { "content-type": answer.type ?? "application/json" } : {});
        res.end(answer.body);
      });
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
}
