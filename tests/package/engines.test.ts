import { readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

/**
 * `engines` says what works, and the lockfile, CI and README agree: every locked package accepts the
 * oldest Node.js that `engines` admits in each supported line, and the Node.js running the tests (CI's)
 * is one `engines` admits.
 */

const REPO = join(__dirname, "..", "..");
const manifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
};
const range = manifest.engines.node;

/** The lowest version each alternative of the range admits (`^20.19.0 || >=22.12.0`: 20.19.0 and 22.12.0). */
const lowestPerLine = range.split("||").map((part) => semver.minVersion(part.trim())!);

describe("engines", () => {
  it("admits the Node.js running this suite", () => {
    expect(semver.satisfies(process.versions.node, range), `node ${process.versions.node} vs engines ${range}`).toBe(true);
  });

  it("every locked package accepts the lowest Node.js of every line engines admits", () => {
    expect(lowestPerLine.length).toBeGreaterThan(0);
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!path || !wanted) continue;
      for (const version of lowestPerLine) {
        if (!semver.satisfies(version, wanted)) refusing.push(`${path.replace(/^node_modules\//, "")} needs node ${wanted} (engines admits ${version.version})`);
      }
    }
    expect(refusing).toEqual([]);
  });

  it("README names the same requirement", () => {
    expect(readFileSync(join(REPO, "README.md"), "utf8")).toContain(`Node.js \`${range}\``);
  });
});
