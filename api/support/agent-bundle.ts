/**
 * `GET /v1/support/agent.js` (public, docs/zero-access.md "The agent on AWS: fetched at first boot"): the
 * support agent exactly as this ClawStack version builds it (support/dist/clawstack-support.js, built when
 * missing), the bytes whose SHA-256 the host components pin in user-data when a host fetches its agent
 * (`supportAccess.agent.bundleUrl` defaults to `<apiUrl>/support/agent.js`). No secret is in it and the host
 * checks the pin before installing it, so no authentication: a host has no credential before its first
 * boot. Its SHA-256 is the ETag (`If-None-Match` answers 304) and `x-content-sha256`.
 */
import { statSync } from "node:fs";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { loadSupportBundle, SUPPORT_BUNDLE_FILE, supportBundleSha256 } from "../../cloud-init/index";
import { errorResponses } from "../http/schemas";

/** The route's path under the API's base URL (`supportAgentUrl` in core/host-config.ts names the same). */
export const SUPPORT_AGENT_ROUTE = "/v1/support/agent.js";

export interface AgentBundle {
  bytes: Buffer;
  sha256: string;
}

/**
 * The bundle and its SHA-256, read again only when the file changes (a rebuild while the API runs serves the
 * new bytes, the ones a render made after it pins).
 */
export function agentBundleSource(path: string = SUPPORT_BUNDLE_FILE): () => AgentBundle {
  let cached: (AgentBundle & { mtimeMs: number; size: number }) | undefined;
  return () => {
    let stats: { mtimeMs: number; size: number } | undefined;
    try {
      stats = statSync(path);
    } catch {
      stats = undefined;
    }
    if (cached === undefined || stats === undefined || cached.mtimeMs !== stats.mtimeMs || cached.size !== stats.size) {
      const bytes = loadSupportBundle(path);
      const now = statSync(path);
      cached = { bytes, sha256: supportBundleSha256(bytes), mtimeMs: now.mtimeMs, size: now.size };
    }
    return { bytes: cached.bytes, sha256: cached.sha256 };
  };
}

export const agentBundleRoutes: FastifyPluginAsyncZod<{ load?: () => AgentBundle }> = async (app, options) => {
  const load = options.load ?? agentBundleSource();
  app.get(
    SUPPORT_AGENT_ROUTE,
    {
      schema: {
        tags: ["zero-access"],
        summary:
          "The support agent hosts fetch at first boot (public): exactly the bundle this version builds, whose SHA-256 user-data pins; ETag and x-content-sha256 are that SHA-256",
        response: { 200: z.any().describe("application/javascript: support/dist/clawstack-support.js"), 304: z.void().describe("Not modified: If-None-Match named its ETag"), ...errorResponses },
      },
    },
    async (request, reply) => {
      const bundle = load();
      const etag = `"${bundle.sha256}"`;
      reply
        .header("etag", etag)
        .header("x-content-sha256", bundle.sha256)
        .header("cache-control", "public, max-age=300")
        .header("x-content-type-options", "nosniff");
      // A standard conditional request header, not an input: any other value just does not match.
      const wanted = request.headers["if-none-match"];
      if (typeof wanted === "string" && wanted.split(",").some((tag) => tag.trim() === etag || tag.trim() === `W/${etag}`)) return reply.code(304).send();
      return reply.type("application/javascript; charset=utf-8").send(bundle.bytes);
    },
  );
};
