/**
 * A stand-in for the DigitalOcean API on loopback: volumes, their snapshots,
 * and the calls the volume snapshot job makes. It checks the bearer token on
 * every request, pages lists like the real API (`page`, `per_page`), records
 * every request, and can be told to fail one route.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeVolume {
  id: string;
  name: string;
  tags: string[];
}

export interface FakeSnapshot {
  id: string;
  name: string;
  created_at: string;
  resource_id: string;
  tags: string[];
}

export interface FakeDigitalOcean {
  baseUrl: string;
  volumes: FakeVolume[];
  snapshots: FakeSnapshot[];
  requests: { method: string; path: string; authorization: string | undefined; body: unknown }[];
  /** Makes requests matching `method path-prefix` answer `status` with `body`. */
  failNext(method: string, pathPrefix: string, status: number, body?: unknown, times?: number): void;
  /** The creation time the next snapshot gets. */
  clock: () => Date;
  close(): Promise<void>;
}

export async function startFakeDigitalOcean(token: string): Promise<FakeDigitalOcean> {
  const failures: { method: string; prefix: string; status: number; body: unknown; times: number }[] = [];
  let counter = 0;
  const state: Omit<FakeDigitalOcean, "baseUrl" | "close" | "failNext"> = {
    volumes: [],
    snapshots: [],
    requests: [],
    clock: () => new Date(),
  };

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  const page = <T>(items: T[], url: URL): T[] => {
    const perPage = Number(url.searchParams.get("per_page") ?? 20);
    const number = Number(url.searchParams.get("page") ?? 1);
    return items.slice((number - 1) * perPage, number * perPage);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const body = await readBody(req);
      const method = req.method ?? "GET";
      state.requests.push({ method, path: url.pathname + url.search, authorization: req.headers.authorization, body });
      if (req.headers.authorization !== `Bearer ${token}`) {
        send(res, 401, { id: "unauthorized", message: "Unable to authenticate you" });
        return;
      }
      const failure = failures.find((entry) => entry.method === method && url.pathname.startsWith(entry.prefix) && entry.times > 0);
      if (failure) {
        failure.times -= 1;
        send(res, failure.status, failure.body);
        return;
      }
      let match: RegExpExecArray | null;
      if (method === "GET" && url.pathname === "/v2/volumes") {
        send(res, 200, { volumes: page(state.volumes, url), meta: { total: state.volumes.length } });
      } else if (method === "GET" && (match = /^\/v2\/volumes\/([^/]+)$/.exec(url.pathname))) {
        const volume = state.volumes.find((candidate) => candidate.id === match![1]);
        if (volume) send(res, 200, { volume });
        else send(res, 404, { id: "not_found", message: "The resource you were accessing could not be found." });
      } else if (match = /^\/v2\/volumes\/([^/]+)\/snapshots$/.exec(url.pathname)) {
        const volumeId = match[1]!;
        if (!state.volumes.some((volume) => volume.id === volumeId)) {
          send(res, 404, { id: "not_found", message: "The resource you were accessing could not be found." });
        } else if (method === "GET") {
          const own = state.snapshots.filter((snapshot) => snapshot.resource_id === volumeId);
          send(res, 200, { snapshots: page(own, url), meta: { total: own.length } });
        } else if (method === "POST") {
          const request = body as { name: string; tags?: string[] };
          counter += 1;
          const snapshot: FakeSnapshot = {
            id: `8fa70202-873f-11e6-8b68-0000000${String(counter).padStart(5, "0")}`,
            name: request.name,
            created_at: state.clock().toISOString(),
            resource_id: volumeId,
            tags: request.tags ?? [],
          };
          state.snapshots.push(snapshot);
          send(res, 201, { snapshot });
        } else send(res, 405, { id: "method_not_allowed", message: method });
      } else if (method === "DELETE" && (match = /^\/v2\/snapshots\/([^/]+)$/.exec(url.pathname))) {
        const index = state.snapshots.findIndex((snapshot) => snapshot.id === match![1]);
        if (index === -1) send(res, 404, { id: "not_found", message: "The resource you were accessing could not be found." });
        else {
          state.snapshots.splice(index, 1);
          send(res, 204);
        }
      } else {
        send(res, 404, { id: "not_found", message: `no route ${method} ${url.pathname}` });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}`,
    failNext(method: string, prefix: string, status: number, body?: unknown, times = 1) {
      failures.push({ method, prefix, status, body, times });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
