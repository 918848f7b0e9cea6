import { execFileSync } from "node:child_process";

/**
 * Whether an external tool (cloud-init, shellcheck, psql, pulumi...) is on PATH.
 * Tests that need one call `requireTool`: locally a missing tool skips the test
 * with a printed reason; under `.ci/run` (CLAWSTACK_REQUIRE_TOOLS=1) a missing
 * tool fails the run, so CI can never pass by skipping.
 */
export function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function requireTool(name: string, why: string): boolean {
  if (hasTool(name)) return true;
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") {
    throw new Error(`\`${name}\` is required under .ci/run (${why}) but is not on PATH`);
  }
  console.warn(`[skip] \`${name}\` is not on PATH: skipping ${why}. Run \`bash .ci/run\` to install it.`);
  return false;
}
