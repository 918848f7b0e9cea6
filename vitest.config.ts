import { defineConfig } from "vitest/config";

// Each test file runs in its own forked process: the Pulumi runtime keeps
// global state (mocks, stack settings), so files must not share it.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "./tests/harness/summary-reporter.ts"],
  },
});
