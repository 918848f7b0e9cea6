import { describe, expect, it } from "vitest";
import { parseBootArgs } from "../../boot/args.js";
import { BOOT_VERSIONS, upgradeFromProblem } from "../../boot/run.js";

describe("`npm run test:boot -- --upgrade-from <version>`", () => {
  it("takes an openclaw release other than the one boot 2 installs", () => {
    expect(upgradeFromProblem("2026.9.5")).toBeUndefined();
  });

  it("refuses what is not a release, naming the flag", () => {
    for (const bad of ["latest", "2026.9", "v2026.9.5", "2026.9.5-beta.1", "2026.9.5; rm -rf /", ""]) {
      expect(upgradeFromProblem(bad)).toMatch(/`--upgrade-from` must be an openclaw release/);
    }
  });

  it("refuses the version boot 2 installs: that would be no upgrade", () => {
    expect(upgradeFromProblem(BOOT_VERSIONS.openclaw)).toMatch(/must differ/);
  });
});

describe("cloudInitDone", () => {
  it("is `done`, or `disabled` once first boot closed user data, with result.json present and no error", async () => {
    const { cloudInitFinished } = await import("../../boot/run.js");
    expect(cloudInitFinished({ status: "done", errors: [] })).toBe(true);
    expect(cloudInitFinished({ status: "disabled", errors: [] })).toBe(true);
    expect(cloudInitFinished({ status: "disabled", errors: ["no result.json"] })).toBe(false);
    expect(cloudInitFinished({ status: "error", errors: [] })).toBe(false);
    expect(cloudInitFinished({ status: "running", errors: [] })).toBe(false);
    expect(cloudInitFinished({ status: "done", errors: ["('scripts_user', RuntimeError())"] })).toBe(false);
  });
});

describe("`npm run test:boot` arguments", () => {
  it("boots with support access (the pinned key, the agent and the sealed ClawChat files) unless told not to", () => {
    expect(parseBootArgs(["--cloud", "do", "--json"])).toEqual({ args: { cloud: "do", json: true, supportAccess: true } });
    expect(parseBootArgs(["--support-access"])).toEqual({ args: { cloud: "do", json: false, supportAccess: true } });
    expect(parseBootArgs(["--proxy-device"])).toEqual({ args: { cloud: "do", json: false, supportAccess: true, proxyDevice: true } });
    expect(parseBootArgs(["--no-support-access", "--upgrade-from", "2026.9.5"])).toEqual({ args: { cloud: "do", json: false, supportAccess: false, upgradeFrom: "2026.9.5" } });
  });

  it("refuses contradicting, unknown or unsupported flags, naming the flag", () => {
    const problem = (args: string[]) => {
      const parsed = parseBootArgs(args);
      return "problem" in parsed ? parsed.problem : "";
    };
    expect(problem(["--support-access", "--no-support-access"])).toMatch(/--no-support-access.*contradict/);
    expect(problem(["--cloud", "aws"])).toMatch(/`--cloud` must be do.*"aws"/);
    expect(problem(["--upgrade-from", "latest"])).toMatch(/`--upgrade-from` must be an openclaw release/);
    expect(problem(["--verbose"])).toMatch(/--verbose.*usage: npm run test:boot/);
  });
});
