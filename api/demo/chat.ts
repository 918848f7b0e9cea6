/**
 * `npm run demo:chat -- [--data-dir <dir>] "message"`: a WebSocket client of
 * the proxy, as a browser page would be. It signs in, buys a ticket
 * (`POST /v1/instances/:id/gateway/tickets`), opens the ticket URL, answers
 * the gateway's `connect.challenge` with a `connect` that carries no
 * credential (the proxy puts the gateway token in), sends `chat.send` and
 * prints the answer as it streams. It never sees the gateway token.
 * Reads the sign-in `npm run demo` wrote to `<data dir>/demo.json`.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import WebSocket from "ws";

interface Demo {
  apiUrl: string;
  email: string;
  password: string;
  instanceId: string;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let dataDir: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--data-dir") dataDir = resolve(argv[++i] ?? "");
    else words.push(argv[i]!);
  }
  if (!dataDir || words.length === 0) throw new Error('usage: npm run demo:chat -- --data-dir <the demo\'s data folder> "message"');
  const demo = JSON.parse(readFileSync(join(dataDir, "demo.json"), "utf8")) as Demo;
  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${demo.apiUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, string>;
  };
  const { accessToken } = await post("/v1/auth/login", { email: demo.email, password: demo.password });
  const headers = { authorization: `Bearer ${accessToken}` };
  const ticketResponse = await fetch(`${demo.apiUrl}/v1/instances/${demo.instanceId}/gateway/tickets`, { method: "POST", headers });
  if (ticketResponse.status !== 201) throw new Error(`ticket: ${ticketResponse.status} ${await ticketResponse.text()}`);
  const { url } = (await ticketResponse.json()) as { url: string };

  const socket = new WebSocket(url);
  const send = (frame: object) => socket.send(JSON.stringify(frame));
  let printed = 0;
  await new Promise<void>((resolveDone, reject) => {
    socket.on("close", (code, reason) => (code === 1000 ? resolveDone() : reject(new Error(`closed ${code} ${reason.toString()}`))));
    socket.on("error", reject);
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; ok?: boolean; event?: string; payload?: Record<string, unknown>; error?: { message?: string } };
      if (frame.event === "connect.challenge") {
        send({
          type: "req",
          id: "connect",
          method: "connect",
          params: { minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "clawstack-demo", platform: process.platform, mode: "cli" }, role: "operator", scopes: ["operator.read", "operator.write"], caps: [] },
        });
      } else if (frame.type === "res" && frame.id === "connect") {
        if (!frame.ok) return reject(new Error(`connect refused: ${frame.error?.message}`));
        send({ type: "req", id: "send", method: "chat.send", params: { sessionKey: `demo-${randomUUID()}`, message: words.join(" "), idempotencyKey: randomUUID() } });
      } else if (frame.type === "res" && frame.id === "send" && !frame.ok) {
        reject(new Error(`chat.send refused: ${frame.error?.message}`));
      } else if (frame.event === "chat") {
        const payload = frame.payload as { state?: string; message?: { content?: { text?: string }[] } };
        const text = (payload.message?.content ?? []).map((part) => part.text ?? "").join("");
        if (text.length > printed) {
          process.stdout.write(text.slice(printed));
          printed = text.length;
        }
        if (payload.state === "final" || payload.state === "error") {
          process.stdout.write("\n");
          socket.close(1000);
        }
      }
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`demo chat failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
