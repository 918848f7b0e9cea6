/**
 * The components are reusable from another Pulumi program (issue 12, item 5):
 * `npm run build` makes `dist/` (JavaScript and declarations), the program in
 * examples/aws-host-from-package depends on the package through "file:../.."
 * and imports `clawstack/components`; it type-checks against the built
 * declarations and synthesizes offline under ClawStack's mocks, with the
 * host's args wired from its own resources (pulumi.Input).
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";

const REPO = join(__dirname, "..", "..");
const EXAMPLE = join(REPO, "examples", "aws-host-from-package");

interface Plan {
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  modules: { components: string };
}

/** What `npm install` does for a "file:../.." dependency: a link to the package in the example's node_modules. */
function linkPackage(): void {
  const manifest = JSON.parse(readFileSync(join(EXAMPLE, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  expect(manifest.dependencies.clawstack).toBe("file:../..");
  const link = join(EXAMPLE, "node_modules", "clawstack");
  if (!existsSync(link)) {
    mkdirSync(join(EXAMPLE, "node_modules"), { recursive: true });
    symlinkSync(join("..", "..", ".."), link, "dir");
  }
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(realpathSync(link)).toBe(realpathSync(REPO));
}

describe("examples/aws-host-from-package: another program imports the components", () => {
  let plan: Plan;

  beforeAll(() => {
    // Built once for the whole file: `npm run build` without its first two steps, the ClawChat and support
    // bundles, which `pretest` already built and which other test files read while this one runs.
    const build = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts.build as string;
    expect(build).toBe("node clawchat/build.mjs && node support/build.mjs && node scripts/build-package.mjs clean && tsc -p tsconfig.build.json && node scripts/build-package.mjs");
    execFileSync(process.execPath, [join(REPO, "scripts", "build-package.mjs"), "clean"], { cwd: REPO, stdio: "pipe" });
    execFileSync(join(REPO, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: REPO, stdio: "pipe" });
    execFileSync(process.execPath, [join(REPO, "scripts", "build-package.mjs")], { cwd: REPO, stdio: "pipe" });
    linkPackage();
  }, 180_000);

  it("builds JavaScript and declarations behind the package's exports map", () => {
    const manifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { exports: Record<string, { types: string; default: string }> };
    for (const target of Object.values(manifest.exports["./components"] ?? {})) expect(existsSync(join(REPO, target))).toBe(true);
    expect(existsSync(join(REPO, "dist", "components", "host", "aws.d.ts"))).toBe(true);
    expect(existsSync(join(REPO, "dist", "cloud-init", "scripts", "first-boot.sh"))).toBe(true);
  });

  it("type-checks against the built declarations", () => {
    expect(() => execFileSync(join(REPO, "node_modules", ".bin", "tsc"), ["-p", join(EXAMPLE, "tsconfig.json")], { stdio: "pipe" })).not.toThrow();
  });

  it("synthesizes offline, loading clawstack/components from dist/", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", join(REPO, "tests", "package", "synth-example.ts"), EXAMPLE], { cwd: REPO, encoding: "utf8" });
    plan = JSON.parse(out) as Plan;
    expect(plan.modules.components).toBe(join(realpathSync(REPO), "dist", "components", "index.js"));
    expect(plan.resources.map((resource) => resource.type)).toEqual(
      expect.arrayContaining(["clawstack:host:AwsHost", "aws:ec2/securityGroup:SecurityGroup", "aws:ebs/volume:Volume", "clawstack:snapshots:AwsStateSnapshots"]),
    );
  });

  it("takes the gateway CIDR from another resource's output, in the security group and the host firewall", () => {
    const group = plan.resources.find((resource) => resource.type === "aws:ec2/securityGroup:SecurityGroup");
    const ingress = group?.inputs.ingress as { cidrBlocks: string[]; fromPort: number }[];
    expect(ingress).toHaveLength(1);
    const [cidr] = ingress[0]?.cidrBlocks ?? [];
    expect(cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/32$/);
    const host = plan.resources.find((resource) => resource.type === "aws:ec2/instance:Instance" && resource.name === "openclaw");
    const encoded = (host?.inputs.userDataBase64 ?? host?.inputs.userData) as string;
    const cloudConfig = host?.inputs.userDataBase64 ? gunzipSync(Buffer.from(encoded, "base64")).toString("utf8") : encoded;
    expect(cloudConfig).toContain(`ip saddr { ${cidr} } tcp dport 3000 accept`);
  });

  it("encrypts the volumes with the program's own KMS key", () => {
    const volume = plan.resources.find((resource) => resource.type === "aws:ebs/volume:Volume");
    expect(volume?.inputs.kmsKeyId).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\//);
    expect(volume?.inputs.encrypted).toBe(true);
  });
});
