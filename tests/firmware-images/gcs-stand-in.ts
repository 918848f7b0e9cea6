/**
 * A loopback stand-in for the Cloud Storage JSON API, as much of it as
 * `@google-cloud/storage` uses for the firmware bucket: multipart upload
 * (with `ifGenerationMatch`), media download (with an `x-goog-hash` CRC32C/MD5
 * the client validates), and listing by prefix with pages. Like a bucket with
 * a locked retention policy, it refuses to replace or delete any object.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CRC32C } from "@google-cloud/storage";

export interface GcsStandIn {
  url: string;
  objects: Map<string, { data: Buffer; contentType: string; generation: number }>;
  requests: string[];
  close(): Promise<void>;
}

function crc32c(data: Buffer): string {
  const checksum = new CRC32C();
  checksum.update(data);
  return checksum.toString();
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json" });
  response.end(text);
}

function error(response: ServerResponse, status: number, message: string): void {
  send(response, status, { error: { code: status, message, errors: [{ message, reason: status === 412 ? "conditionNotMet" : "forbidden" }] } });
}

/** Splits a multipart/related body into its parts' bodies (metadata JSON, then media). */
function multipartParts(body: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error("no multipart boundary");
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd !== -1) parts.push(part.subarray(headerEnd + 4, part.length - 2));
    start = next;
  }
  return parts;
}

export async function startGcsStandIn(bucket: string, options: { pageSize?: number } = {}): Promise<GcsStandIn> {
  const objects = new Map<string, { data: Buffer; contentType: string; generation: number }>();
  const requests: string[] = [];
  let generation = 1_000;
  const pageSize = options.pageSize ?? 1_000;
  const resource = (name: string) => {
    const object = objects.get(name)!;
    return {
      kind: "storage#object",
      bucket,
      name,
      generation: String(object.generation),
      size: String(object.data.length),
      contentType: object.contentType,
      md5Hash: createHash("md5").update(object.data).digest("base64"),
      crc32c: crc32c(object.data),
    };
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      const prefix = `/b/${bucket}/o`;
      const path = url.pathname.replace(/^\/(upload\/|download\/)?storage\/v1/, "");
      if (!path.startsWith(prefix)) return error(response, 404, `no bucket in ${url.pathname}`);
      if (request.method === "POST" && url.pathname.startsWith("/upload/") && url.searchParams.get("uploadType") === "multipart") {
        const [metadataPart, media] = multipartParts(await readBody(request), request.headers["content-type"] ?? "");
        const metadata = JSON.parse(metadataPart!.toString("utf8")) as { name?: string; contentType?: string };
        const name = url.searchParams.get("name") ?? metadata.name;
        if (!name) return error(response, 400, "no object name");
        const match = url.searchParams.get("ifGenerationMatch");
        if (objects.has(name)) {
          if (match === "0") return error(response, 412, "At least one of the pre-conditions you specified did not hold.");
          return error(response, 403, `Object '${name}' is subject to bucket's retention policy or object retention and cannot be deleted or overwritten`);
        }
        objects.set(name, { data: Buffer.from(media ?? Buffer.alloc(0)), contentType: metadata.contentType ?? "application/octet-stream", generation: generation++ });
        return send(response, 200, resource(name));
      }
      if (request.method === "GET" && path === prefix) {
        const listPrefix = url.searchParams.get("prefix") ?? "";
        const names = [...objects.keys()].filter((name) => name.startsWith(listPrefix)).sort();
        const from = Number(url.searchParams.get("pageToken") ?? 0);
        const page = names.slice(from, from + pageSize);
        const body: Record<string, unknown> = { kind: "storage#objects", items: page.map(resource) };
        if (from + pageSize < names.length) body.nextPageToken = String(from + pageSize);
        return send(response, 200, body);
      }
      if (request.method === "GET" && path.startsWith(`${prefix}/`)) {
        const name = decodeURIComponent(path.slice(prefix.length + 1));
        const object = objects.get(name);
        if (!object) return error(response, 404, `No such object: ${bucket}/${name}`);
        if (url.searchParams.get("alt") !== "media") return send(response, 200, resource(name));
        const { crc32c, md5Hash } = resource(name);
        response.writeHead(200, { "content-type": object.contentType, "x-goog-hash": `crc32c=${crc32c},md5=${md5Hash}`, "x-goog-generation": String(object.generation) });
        return response.end(object.data);
      }
      if (request.method === "DELETE") return error(response, 403, "objects under a retention policy cannot be deleted");
      return error(response, 400, `the stand-in does not implement ${request.method} ${url.pathname}`);
    })().catch((caught: unknown) => error(response, 500, String(caught)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
