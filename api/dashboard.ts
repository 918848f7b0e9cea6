/**
 * The web dashboard at `/`: the static files `npm run web:build` writes to `web/dist/` (an HTML
 * page, one script, one style sheet), served from the API's own origin, so the dashboard calls
 * `/v1` without CORS. Nothing is fetched from anywhere else at run time.
 *
 * Its answers replace the API's `default-src 'none'` policy with the dashboard's, as strict as a
 * page that runs a script can be: scripts, styles, images and connections from this origin only,
 * no inline script or style, no eval, no framing, no `<base>`, no form submission anywhere (every
 * form is handled by script). Every other header of `api/http/security-headers.ts` stays.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

export const DASHBOARD_DIR = resolve(__dirname, "..", "web", "dist");

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const dashboardPlugin: FastifyPluginAsync<{ root?: string }> = async (app, options) => {
  const root = options.root ?? DASHBOARD_DIR;
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("content-security-policy", DASHBOARD_CSP);
    return payload;
  });
  if (!existsSync(join(root, "index.html"))) {
    app.log.warn({ root }, "the dashboard is not built (npm run web:build): GET / answers 503");
    app.get("/", { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).send({
        statusCode: 503,
        error: "Service Unavailable",
        message: "the dashboard is not built: run `npm run web:build` (npm start does it first)",
      }),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    // One route per built file (no catch-all): unknown paths keep the API's own 404.
    wildcard: false,
    index: "index.html",
    serveDotFiles: false,
    decorateReply: false,
    cacheControl: false,
    setHeaders: (response, path) => {
      // Asset names carry their content hash; the page itself is always revalidated.
      response.setHeader("cache-control", path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable");
    },
  });
};
