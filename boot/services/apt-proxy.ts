import { createHash } from "node:crypto";
import { createReadStream, existsSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { cacheDir } from "../paths.js";
import type { Started } from "./process.js";

/** Port of the apt proxy: baked into the test image's apt configuration, like a cloud image's regional mirror. */
export const APT_PROXY_PORT = 3142;

/** The only origins the proxy fetches from: Debian's archive and its security archive. */
const ALLOWED_HOSTS = new Set(["deb.debian.org", "security.debian.org"]);

/**
 * A caching HTTP proxy for apt on 127.0.0.1:3142 (the guest reaches it as
 * 10.0.2.2:3142, set as `Acquire::http::Proxy` in the test image). apt checks
 * everything it gets against the archive's signed `InRelease`, so the proxy is
 * trusted for availability only. Package files (`.deb`, immutable by name) are
 * cached on disk across runs; indexes pass through. Debian's apt-cacher-ng was
 * the first choice, but it resolves names with its own DNS client and ignores
 * /etc/hosts, where this machine's mirror is configured (docs/boot.md).
 */
export async function startAptProxy(): Promise<Started> {
  const cache = cacheDir("apt-proxy");
  const server = createServer(async (request, response) => {
    let url: URL;
    try {
      url = new URL(request.url ?? "");
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (request.method !== "GET" || url.protocol !== "http:" || !ALLOWED_HOSTS.has(url.hostname)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const cacheable = url.pathname.endsWith(".deb");
      const file = join(cache, createHash("sha256").update(url.href).digest("hex"));
      if (cacheable && existsSync(file)) {
        response.writeHead(200, { "content-type": "application/vnd.debian.binary-package" });
        createReadStream(file).pipe(response);
        return;
      }
      const upstream = await fetch(url.href);
      const body = Buffer.from(await upstream.arrayBuffer());
      if (cacheable && upstream.ok) {
        writeFileSync(`${file}.tmp`, body);
        renameSync(`${file}.tmp`, file);
      }
      const headers: Record<string, string> = { "content-length": String(body.length) };
      for (const name of ["content-type", "last-modified", "etag"]) {
        const value = upstream.headers.get(name);
        if (value) headers[name] = value;
      }
      response.writeHead(upstream.status, headers);
      response.end(body);
    } catch (error) {
      response.writeHead(502).end(String((error as Error).message));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(APT_PROXY_PORT, "127.0.0.1", resolve);
  });
  return { name: "apt proxy", stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
