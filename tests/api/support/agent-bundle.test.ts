/**
 * `GET /v1/support/agent.js` (api/support/agent-bundle.ts): public, serving exactly the support bundle whose
 * SHA-256 an AWS host's user-data pins (the default `bundleUrl` is this route under the API's URL), with that
 * SHA-256 as its ETag; a rebuilt bundle is served (and pinned) anew.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentBundleSource, SUPPORT_AGENT_ROUTE } from "../../../api/support/agent-bundle";
import { loadSupportBundle } from "../../../cloud-init/index";
import { resolveHostArgs, type KnownHostArgs } from "../../../components/host/args";
import { hostUserData } from "../../../components/host/boot";
import { exportUserPublicKey, generateUserKeyPair } from "../../../core/zero-access/user-keys";
import { startApi, type TestApi } from "../support";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("the support agent route", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({ engine: "sqlite", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("serves, without authentication, exactly the bytes whose SHA-256 an AWS host's user-data pins, at the URL it pins", async () => {
    const served = await api.inject({ method: "GET", url: SUPPORT_AGENT_ROUTE });
    expect(served.statusCode).toBe(200);
    expect(served.headers["content-type"]).toBe("application/javascript; charset=utf-8");
    expect(served.headers["cache-control"]).toBe("public, max-age=300");
    const body = served.rawPayload;
    expect(body.equals(loadSupportBundle())).toBe(true);
    expect(served.headers.etag).toBe(`"${sha256(body)}"`);
    expect(served.headers["x-content-sha256"]).toBe(sha256(body));

    // What an AWS host of this API gets: the default bundleUrl is this route under supportAccess.apiUrl.
    const ID = "inst_0123456789abcdef0123456789abcdef";
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const args = {
      ...resolveHostArgs({
        name: "claw",
        region: "eu-west-1",
        gatewayCidrs: ["203.0.113.0/24"],
        versions: { openclaw: "2026.1.29", node: "24.15.0" },
        registration: { apiUrl: `https://api.example.com/v1/instances/${ID}/register`, instanceId: ID, token: `csreg_${"Zz9_-y".repeat(7)}k` },
        supportAccess: { pinnedKeys: [key], apiUrl: "https://api.example.com/v1" },
      }),
      gatewayCidrs: ["203.0.113.0/24"],
      clawchatClientCidrs: [],
    } as KnownHostArgs;
    const { cloudConfig } = hostUserData("aws", args, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0", { source: "generate" });
    const source = (parse(cloudConfig) as { write_files: { path: string; content: string }[] }).write_files.find((entry) => entry.path === "/etc/clawstack/support/agent-source.conf")!.content;
    expect(source).toContain(`SUPPORT_AGENT_URL='https://api.example.com${SUPPORT_AGENT_ROUTE}'`);
    expect(source).toContain(`SUPPORT_AGENT_SHA256='${sha256(body)}'`);
  }, 120_000);

  it("answers 304 to its own ETag, and the bundle again to another", async () => {
    const etag = String((await api.inject({ method: "GET", url: SUPPORT_AGENT_ROUTE })).headers.etag);
    const cached = await api.inject({ method: "GET", url: SUPPORT_AGENT_ROUTE, headers: { "if-none-match": etag } });
    expect([cached.statusCode, cached.rawPayload.length]).toEqual([304, 0]);
    const other = await api.inject({ method: "GET", url: SUPPORT_AGENT_ROUTE, headers: { "if-none-match": `"${"0".repeat(64)}"` } });
    expect(other.statusCode).toBe(200);
    expect(other.rawPayload.length).toBeGreaterThan(0);
  });

  it("reads the bundle again when the file changes (a rebuild), and only then", () => {
    const dir = mkdtempSync(join(tmpdir(), "clawstack-agent-bundle-"));
    try {
      const path = join(dir, "clawstack-support.js");
      writeFileSync(path, "first build\n");
      const load = agentBundleSource(path);
      expect(load().sha256).toBe(sha256(Buffer.from("first build\n")));
      writeFileSync(path, "second build, longer\n");
      utimesSync(path, new Date(), new Date(Date.now() + 5_000));
      expect(load()).toEqual({ bytes: Buffer.from("second build, longer\n"), sha256: sha256(Buffer.from("second build, longer\n")) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
