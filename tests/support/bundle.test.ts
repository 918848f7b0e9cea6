/**
 * The built bundle as the host runs it: `node clawstack-support.js agent --config agent.json` as its own
 * process (what clawstack-support.service starts), against the same loopback parts as agent-sshd.test.ts.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantFrom, harnessUnavailable, portOpen, startHarness, waitFor, type Harness } from "./harness.js";

const unavailable = harnessUnavailable();
if (unavailable) {
  // Missing tools fail under CI; a machine that forbids root or network namespaces skips (with the reason).
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1" && /not installed/.test(unavailable)) throw new Error(`the support bundle test cannot run: ${unavailable}`);
  console.warn(`[skip] the support agent bundle as a process: ${unavailable}`);
}

describe.skipIf(unavailable !== undefined)("the support bundle's agent as a process", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ pollSeconds: 0.5 });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it("polls, installs a grant signed by the user (sshd answers), logs JSON lines without secrets, and exits 0 on SIGTERM", async () => {
    const agent = spawn(process.execPath, [join(h.dir, "clawstack-support.js"), "agent", "--config", join(h.dir, "agent.json")], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    agent.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<number | null>((done) => agent.on("exit", (code) => done(code)));
    try {
      await waitFor("two polls", () => h.api.polls >= 2);
      h.api.grants = [{ id: "g-bundle", ...(await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine] })) }];
      await waitFor("sshd started by the agent process", () => portOpen(h.port), 15_000);
      expect(stderr).toMatch(/"event":"agent_started"/);
      expect(stderr).toMatch(/"event":"grant_accepted","grantId":"g-bundle"/);
      const hostToken = readFileSync(h.config.paths.hostToken, "utf8").trim();
      expect(stderr).not.toContain(hostToken);
      h.api.grants = [];
      await waitFor("sshd stopped by the agent process", async () => !(await portOpen(h.port)), 15_000);
    } finally {
      agent.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
