import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { createServer } from "node:https";
import { join, normalize } from "node:path";
import { HOST_FROM_GUEST } from "../paths.js";
import type { TestPki } from "../tls.js";
import type { Started } from "./process.js";
import { SupportApiStandIn } from "./support-api.js";

const CLAWCHAT_BUNDLE_PATH = "/clawchat/clawchat.js";
const CLAWCHAT_BUNDLE = join(__dirname, "..", "..", "clawchat", "dist", "clawchat.js");

/** What a host sent to the registration stand-in. Held in memory only, never printed. */
export interface Registration {
  instanceId: string;
  registrationToken: string;
  gatewayToken: string;
  tlsCertSha256: string;
  /** The host's API credential (hosts with support access); empty otherwise. */
  hostToken: string;
  receivedAt: number;
}

/**
 * One HTTPS server (test CA certificate) playing two parties a host talks to:
 * the Node.js dist mirror (`/node/...`, files from `distRoot`) and the
 * provisioning API's `POST /v1/instances/:id/register`, which records the body
 * and answers 200 once per registration token (a used token gets 409, as the API does).
 */
export interface StandIns extends Started {
  port: number;
  nodeDistGuestUrl: string;
  /** Where the guest fetches the ClawChat bundle (`clawchat/dist/clawchat.js`, built by `npm run clawchat:build`). */
  clawchatBundleGuestUrl: string;
  apiGuestBase: string;
  registrations(): Registration[];
  /** The API's host endpoints of support access. */
  support: SupportApiStandIn;
  /** Paths the Node mirror served. */
  nodeDownloads(): string[];
}

function readBody(request: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new Error("body too large"));
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

export async function startStandIns(pki: TestPki, distRoot: string): Promise<StandIns> {
  const registrations: Registration[] = [];
  const downloads: string[] = [];
  const support = new SupportApiStandIn((instanceId) => registrations.find((entry) => entry.instanceId === instanceId && entry.hostToken !== "")?.hostToken);
  const server = createServer({ key: readFileSync(pki.serverKeyPath), cert: readFileSync(pki.serverCertPath) }, async (request, response) => {
    const url = new URL(request.url ?? "/", "https://standin");
    const register = /^\/v1\/instances\/(inst_[0-9a-f]{32})\/register$/.exec(url.pathname);
    if (request.method === "POST" && register) {
      try {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        const entry = {
          instanceId: register[1]!,
          registrationToken: String(body.registrationToken ?? ""),
          gatewayToken: String(body.gatewayToken ?? ""),
          tlsCertSha256: String(body.tlsCertSha256 ?? ""),
          hostToken: String(body.hostToken ?? ""),
          receivedAt: Date.now(),
        };
        const used = registrations.some((seen) => seen.registrationToken === entry.registrationToken);
        registrations.push(entry);
        response.writeHead(used ? 409 : 200, { "content-type": "application/json" });
        response.end(used ? '{"error":"registration token already used"}' : '{"registered":true}');
      } catch {
        response.writeHead(400).end();
      }
      return;
    }
    if (url.pathname.startsWith("/v1/host/")) {
      const body = request.method === "GET" ? "" : await readBody(request).catch(() => "");
      if (support.handle(request, response, body)) return;
    }
    // `clawstack:clawchat.bundleUrl` of the booted stack: the ClawChat bundle the host fetches and checks by SHA-256.
    if (request.method === "GET" && url.pathname === CLAWCHAT_BUNDLE_PATH && existsSync(CLAWCHAT_BUNDLE)) {
      downloads.push(url.pathname);
      response.writeHead(200, { "content-type": "application/javascript", "content-length": statSync(CLAWCHAT_BUNDLE).size });
      createReadStream(CLAWCHAT_BUNDLE).pipe(response);
      return;
    }
    if (request.method === "GET" && url.pathname.startsWith("/node/")) {
      const file = normalize(join(distRoot, url.pathname.slice("/node/".length)));
      if (file.startsWith(distRoot) && existsSync(file) && statSync(file).isFile()) {
        downloads.push(url.pathname);
        response.writeHead(200, { "content-type": "application/octet-stream", "content-length": statSync(file).size });
        createReadStream(file).pipe(response);
        return;
      }
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    name: "API and Node mirror stand-ins",
    port,
    nodeDistGuestUrl: `https://${HOST_FROM_GUEST}:${port}/node`,
    clawchatBundleGuestUrl: `https://${HOST_FROM_GUEST}:${port}${CLAWCHAT_BUNDLE_PATH}`,
    apiGuestBase: `https://${HOST_FROM_GUEST}:${port}`,
    registrations: () => [...registrations],
    support,
    nodeDownloads: () => [...downloads],
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
