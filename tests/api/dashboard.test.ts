/**
 * api/dashboard.ts: the built files at `/` with the dashboard's CSP (and only there), one route
 * per file (unknown paths keep the API's 404), hashed assets cached, and a 503 naming the build
 * command when nothing was built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { DASHBOARD_CSP, dashboardPlugin } from "../../api/dashboard";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function appWith(root: string) {
  const app = Fastify();
  await app.register(dashboardPlugin, { root });
  app.get("/v1/thing", async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe("the dashboard plugin", () => {
  it("serves the page and its assets with the strict policy, and nothing else", async () => {
    const root = mkdtempSync(join(tmpdir(), "clawstack-dashboard-"));
    dirs.push(root);
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>t</title>");
    writeFileSync(join(root, "assets", "app-ABC.js"), "export {};");
    const app = await appWith(root);
    const page = await app.inject({ url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(DASHBOARD_CSP);
    expect(page.headers["cache-control"]).toBe("no-cache");
    const script = await app.inject({ url: "/assets/app-ABC.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    // Routes outside the plugin keep their own headers; unknown paths are not answered by the plugin.
    expect((await app.inject({ url: "/v1/thing" })).headers["content-security-policy"]).toBeUndefined();
    expect((await app.inject({ url: "/assets/other.js" })).statusCode).toBe(404);
    expect((await app.inject({ url: "/../package.json" })).statusCode).toBe(404);
    await app.close();
  });

  it("answers 503 naming the build command when the dashboard was not built", async () => {
    const app = await appWith(join(tmpdir(), `clawstack-no-dashboard-${process.pid}`));
    const page = await app.inject({ url: "/" });
    expect(page.statusCode).toBe(503);
    expect(page.json().message).toContain("npm run web:build");
    await app.close();
  });
});
