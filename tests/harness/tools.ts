import { execFileSync } from "node:child_process";

/**
 * Whether an external tool (cloud-init, shellcheck, psql, pulumi...) is on PATH.
 * Tests that need one call `requireTool`: locally a missing tool skips the test
 * with a printed reason; under `.ci/run` (CLAWSTACK_REQUIRE_TOOLS=1) a missing
 * tool fails the run, so CI can never pass by skipping a tool it installs.
 */
export function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tools `.ci/run` cannot install: the Pulumi CLI's installers download
 * binaries from outside the reachable registries. Tests needing these skip with
 * a printed reason everywhere, CI included, and run wherever the tool exists.
 */
const NOT_INSTALLABLE_IN_CI: ReadonlyMap<string, string> = new Map([
  ["pulumi", "the Pulumi CLI cannot be installed here (its installers download binaries); install it from https://www.pulumi.com/docs/install/ to run this"],
]);

export function requireTool(name: string, why: string): boolean {
  if (hasTool(name)) return true;
  const notInstallable = NOT_INSTALLABLE_IN_CI.get(name);
  if (notInstallable) {
    console.warn(`[skip] \`${name}\` is not on PATH: skipping ${why}. ${notInstallable}.`);
    return false;
  }
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") {
    throw new Error(`\`${name}\` is required under .ci/run (${why}) but is not on PATH`);
  }
  console.warn(`[skip] \`${name}\` is not on PATH: skipping ${why}. Run \`bash .ci/run\` to install it.`);
  return false;
}
