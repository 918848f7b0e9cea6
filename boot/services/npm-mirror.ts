import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { cacheDir, HOST_FROM_GUEST } from "../paths.js";
import type { TestPki } from "../tls.js";
import type { Started } from "./process.js";

/**
 * A read-only npm registry mirror over HTTPS (certificate from the test CA)
 * that passes the upstream registry's documents through unchanged except for
 * tarball URLs, which point back at the mirror. Unchanged matters: the host
 * runs `npm audit signatures`, which needs each version's `dist.signatures` and
 * the registry's `/-/npm/v1/keys`; Verdaccio 6 drops the first and does not
 * serve the second (docs/boot.md). Tarballs are cached on disk and served again
 * without the network; metadata is fetched once per run.
 */
export interface NpmMirror extends Started {
  /** The registry URL as the guest sees it (`clawstack:mirrors.npmRegistry`). */
  guestUrl: string;
  port: number;
  /** Paths of tarballs served, for the report (e.g. that openclaw came through the mirror). */
  served(): string[];
}

export async function startNpmMirror(pki: TestPki, upstream = process.env.npm_config_registry ?? "https://registry.npmjs.org/"): Promise<NpmMirror> {
  const upstreamBase = upstream.endsWith("/") ? upstream : `${upstream}/`;
  const tarballs = cacheDir("npm-mirror", "tarballs");
  const metadata = new Map<string, Buffer>();
  const served: string[] = [];
  let guestBase = "";

  const server = createServer({ key: readFileSync(pki.serverKeyPath), cert: readFileSync(pki.serverCertPath) }, async (request, response) => {
    try {
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405).end();
        return;
      }
      const path = (request.url ?? "/").replace(/^\/+/, "");
      if (path.includes("/-/") && path.endsWith(".tgz")) {
        const file = join(tarballs, createHash("sha256").update(path).digest("hex"));
        if (!existsSync(file)) {
          const upstreamResponse = await fetch(upstreamBase + path);
          if (!upstreamResponse.ok) {
            response.writeHead(upstreamResponse.status).end();
            return;
          }
          writeFileSync(`${file}.tmp`, Buffer.from(await upstreamResponse.arrayBuffer()));
          renameSync(`${file}.tmp`, file);
        }
        served.push(path);
        response.writeHead(200, { "content-type": "application/octet-stream" });
        createReadStream(file).pipe(response);
        return;
      }
      const accept = request.headers.accept ?? "application/json";
      const key = `${accept}\n${path}`;
      let body = metadata.get(key);
      if (body === undefined) {
        const upstreamResponse = await fetch(upstreamBase + path, { headers: { accept } });
        if (!upstreamResponse.ok) {
          response.writeHead(upstreamResponse.status, { "content-type": "application/json" }).end("{}");
          return;
        }
        body = Buffer.from((await upstreamResponse.text()).split(upstreamBase).join(guestBase));
        metadata.set(key, body);
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(body);
    } catch (error) {
      response.writeHead(502).end(String((error as Error).message));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  guestBase = `https://${HOST_FROM_GUEST}:${port}/`;
  return {
    name: "npm mirror",
    port,
    guestUrl: guestBase,
    served: () => [...served],
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
