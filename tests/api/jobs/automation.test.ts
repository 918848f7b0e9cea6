/**
 * The Automation API engine: error classification and the no-CLI behaviour
 * run everywhere; the parts that drive a real `pulumi` CLI (file backend,
 * stack selection, lock cancel) skip with a printed reason when it is absent.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AutomationEngine, classify } from "../../../api/engine/automation";
import { offlinePlanner } from "../../../api/engine/plan";
import { EngineError } from "../../../api/engine/types";
import { findPulumiCli } from "../../../api/engine/pulumi-cli";
import { resolveStackLayout } from "../../../api/stacks/layout";

function layout() {
  const dataDir = mkdtempSync(join(tmpdir(), "automation-"));
  return resolveStackLayout({
    dataDir,
    workerName: "test",
    env: { PULUMI_BACKEND_URL: `file://${join(dataDir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" },
  });
}

const spec = (workDir: string) => ({
  stackName: "u-000000000000-i-00000000000000000000000000000000",
  workDir,
  kind: "host",
  config: { cloud: "digitalocean", region: "nyc3", gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
  envVars: {},
});

describe("AutomationEngine without the CLI", () => {
  const engine = new AutomationEngine({ layout: layout(), planner: offlinePlanner, cliPath: null });

  it("says deployments are unavailable and what to install", async () => {
    const capabilities = engine.capabilities();
    expect(capabilities.deploy).toBe(false);
    expect(capabilities.reason).toMatch(/get\.pulumi\.com/);
    for (const operation of ["up", "refresh", "destroy"] as const) {
      const failure = await engine[operation](spec(mkdtempSync(join(tmpdir(), "wd-")))).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(EngineError);
      expect((failure as EngineError).code).toBe("tool_missing");
      expect((failure as EngineError).retryable).toBe(false);
      expect((failure as EngineError).message).toMatch(new RegExp(`\`${operation}\` needs the \`pulumi\` CLI`));
    }
  });

  it("previews offline: the plan and the review", async () => {
    const outcome = await engine.preview(spec(mkdtempSync(join(tmpdir(), "wd-"))));
    expect(outcome.plan.resources.some((resource) => resource.type === "digitalocean:index/droplet:Droplet")).toBe(true);
    expect(outcome.mandatoryViolations).toBe(0);
    expect(outcome.changeSummary).toBeUndefined();
  });

  it("classifies engine failures into queue codes", () => {
    expect(classify(new Error("dial tcp: i/o timeout")).code).toBe("transient");
    expect(classify(new Error("429 Too Many Requests")).retryable).toBe(true);
    expect(classify(new Error("invalid droplet size")).code).toBe("failed");
    expect(new EngineError("invalid_config", "x", "region").httpStatus).toBe(400);
    expect(new EngineError("not_found", "x").httpStatus).toBe(404);
    expect(new EngineError("conflict", "x").httpStatus).toBe(409);
  });
});

const cli = findPulumiCli();
if (!cli) console.warn("[skip] `pulumi` is not on PATH: skipping the Automation API tests against a file backend (install it from https://www.pulumi.com/docs/install/)");

describe.skipIf(!cli)("AutomationEngine with the CLI on a file backend", () => {
  it("destroys a stack that was never created as a no-op and cancels nothing", async () => {
    const engine = new AutomationEngine({ layout: layout(), planner: offlinePlanner });
    const workDir = mkdtempSync(join(tmpdir(), "wd-"));
    await expect(engine.cancel(spec(workDir))).resolves.toBeUndefined();
    await expect(engine.destroy(spec(workDir))).resolves.toEqual({ outputs: {}, changes: {} });
  });
});
