import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../firmware-images/cli";
import { SECTOR_SIZE } from "../../firmware-images/secure-boot-v2";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { tempDir, writeChannel, writePrivatePem, writePublicPem } from "./helpers";

/**
 * `npm run firmware -- <command>` end to end, in process (`main` is what
 * `cli.ts` runs), on a file:// bucket: keygen, sign, verify, inspect, publish,
 * verify-release, rollback, and every bad input the issue lists, each refused
 * with the name of the failed check. Test images come from the in-repo
 * generator script (firmware-images/testdata/generate.ts).
 */

const REPO = join(__dirname, "..", "..");
const TSX = join(REPO, "node_modules", ".bin", "tsx");

interface Run {
  code: number;
  out: string;
  err: string;
}

let minute = 0;
/** A clock that moves one minute per reading, so releases and rollbacks are ordered. */
const clock = (): Date => new Date(Date.UTC(2026, 10, 23, 9, minute++));

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (line) => out.push(line), stderr: (line) => err.push(line), now: clock });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Runs the generator script itself (a child process), as a release engineer would. */
function generateWithScript(dir: string, name: string, version: string, secureVersion: number): string {
  const path = join(dir, name);
  const args = ["--out", path, "--version", version, "--secure-version", String(secureVersion), "--size", "20000"];
  execFileSync(TSX, [join(REPO, "firmware-images/testdata/generate.ts"), ...args], { cwd: REPO, stdio: "pipe" });
  return path;
}

/** The same generator's code in process (one child process per image would cost seconds each). */
function generate(dir: string, name: string, version: string, secureVersion: number, chip = "esp32"): string {
  const path = join(dir, name);
  writeFileSync(path, buildTestImage({ version, secureVersion, chip, size: 20_000 }));
  return path;
}

/** Every file under `dir` with its bytes, to prove nothing was deleted or rewritten. */
function snapshotTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

const refusedFor = (run: Run, check: string): void => {
  expect(run.code, run.err || run.out).toBe(1);
  expect(run.err).toMatch(new RegExp(`^refused: ${check}: `));
};

let work: string;
let images: Record<"v100" | "v110" | "v120low" | "v200" | "s3chip", string>;

beforeAll(() => {
  work = tempDir("clawstack-fw-cli-");
  images = {
    v100: generateWithScript(work, "app-1.0.0.bin", "1.0.0", 1),
    v110: generate(work, "app-1.1.0.bin", "1.1.0", 1),
    v120low: generate(work, "app-1.2.0.bin", "1.2.0", 0),
    v200: generate(work, "app-2.0.0.bin", "2.0.0", 2),
    s3chip: generate(work, "app-s3.bin", "9.0.0", 9, "esp32s3"),
  };
  expect(readFileSync(images.v100).equals(buildTestImage({ version: "1.0.0", secureVersion: 1, size: 20_000 }))).toBe(true);
}, 60_000);

describe("keygen and pubkey", () => {
  it("writes the private key with mode 600, prints only the public key and its digest, and never overwrites", async () => {
    const keyPath = join(work, "keygen-test.pem");
    const run = await cli("keygen", "--scheme", "ecdsa-p256", "--out", keyPath);
    expect(run.code).toBe(0);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keyPath, "utf8");
    expect(pem).toContain("BEGIN PRIVATE KEY");
    const body = pem.split("\n").filter((line) => !line.startsWith("-----")).join("");
    expect(run.out).not.toContain("PRIVATE KEY");
    for (let i = 0; i + 16 <= body.length; i += 16) expect(run.out).not.toContain(body.slice(i, i + 16));
    expect(run.out).toMatch(/key digest: [0-9a-f]{64}/);
    expect(run.out).toContain("BEGIN PUBLIC KEY");
    const again = await cli("keygen", "--scheme", "ecdsa-p256", "--out", keyPath);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/EEXIST.*never overwrites/);
    expect(readFileSync(keyPath, "utf8")).toBe(pem);
  });

  it("pubkey prints the same digest keygen printed, never the private key", async () => {
    const keyPath = join(work, "pubkey-test.pem");
    const made = await cli("keygen", "--scheme", "ecdsa-p256", "--out", keyPath);
    const digest = /key digest: ([0-9a-f]{64})/.exec(made.out)![1];
    const run = await cli("pubkey", "--key", keyPath);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`key digest: ${digest}`);
    expect(run.out).not.toContain("PRIVATE KEY");
  });

  it("pubkey --out writes only the public key, which verify takes", async () => {
    const keyPath = join(work, "pubkey-out.pem");
    const made = await cli("keygen", "--scheme", "ecdsa-p256", "--out", keyPath);
    const digest = /key digest: ([0-9a-f]{64})/.exec(made.out)![1];
    const pubPath = join(work, "pubkey-out.pub.pem");
    const run = await cli("pubkey", "--key", keyPath, "--out", pubPath);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`key digest: ${digest}`);
    const written = readFileSync(pubPath, "utf8");
    expect(written).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const signedPath = join(work, "pubkey-out-signed.bin");
    expect((await cli("sign", images.v100, "--key", keyPath, "-o", signedPath)).code).toBe(0);
    const verified = await cli("verify", signedPath, "--pubkey", pubPath);
    expect(verified.code, verified.err).toBe(0);
  });
});

describe("trust", () => {
  it("adds the key digest to the channel once, keeps the file's comments, refuses a fourth key and leaves the file as it was", async () => {
    const dir = tempDir();
    const original = readFileSync(join(REPO, "firmware-images/channels/stable.yaml"), "utf8");
    writeFileSync(join(dir, "stable.yaml"), original);
    const keys = await Promise.all(
      [0, 1, 2, 3].map(async (n) => {
        const path = join(dir, `k${n}.pem`);
        const made = await cli("keygen", "--scheme", "ecdsa-p256", "--out", path);
        return { path, digest: /key digest: ([0-9a-f]{64})/.exec(made.out)![1]! };
      }),
    );
    let run = await cli("trust", "--key", keys[0]!.path, "--channel", "stable", "--channels-dir", dir);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`${keys[0]!.digest} added`);
    run = await cli("trust", "--key", keys[0]!.path, "--channel", "stable", "--channels-dir", dir);
    expect(run.out).toContain("was already trusted");
    const text = readFileSync(join(dir, "stable.yaml"), "utf8");
    expect(text).toContain("# The channel every Energy Core follows by default.");
    expect(text.match(new RegExp(keys[0]!.digest, "g"))).toHaveLength(1);
    for (const key of keys.slice(1, 3)) expect((await cli("trust", "--key", key.path, "--channel", "stable", "--channels-dir", dir)).code).toBe(0);
    const full = readFileSync(join(dir, "stable.yaml"), "utf8");
    run = await cli("trust", "--key", keys[3]!.path, "--channel", "stable", "--channels-dir", dir);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/`signingKeyDigests`.*3 digests/);
    expect(readFileSync(join(dir, "stable.yaml"), "utf8")).toBe(full);
    expect(readdirSync(dir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("names a missing channel", async () => {
    const dir = tempDir();
    const run = await cli("trust", "--key", join(work, "pubkey-test.pem"), "--channel", "nightly", "--channels-dir", dir);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/`channel` nightly has no definition/);
  });
});

describe.each(["ecdsa-p256", "rsa-3072"] as const)("sign, verify and inspect with a local %s key", (scheme) => {
  let key: string;
  let pub: string;
  let other: string;
  let signed: string;
  beforeAll(async () => {
    const dir = tempDir();
    key = join(dir, "key.pem");
    const made = await cli("keygen", "--scheme", scheme, "--out", key);
    pub = join(dir, "key.pub.pem");
    writeFileSync(pub, /-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.exec(made.out)![0]);
    const otherKey = scheme === "rsa-3072" ? generateKeyPairSync("rsa", { modulusLength: 3072 }).publicKey : generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey;
    other = writePublicPem(dir, "other.pub.pem", otherKey);
    signed = join(dir, "signed.bin");
  }, 60_000);

  it("round-trips: sign pads and appends one sector, verify names the key that signed", async () => {
    const run = await cli("sign", images.v100, "--key", key, "-o", signed);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(new RegExp(`block 0 \\(1 of 3\\), ${scheme}`));
    const bytes = readFileSync(signed);
    expect(bytes.length % SECTOR_SIZE).toBe(0);
    const verified = await cli("verify", signed, "--pubkey", other, pub);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toContain(`block 0: ${scheme}`);
    expect(verified.out).toContain(`signed by ${pub}`);
    expect(verified.out).toContain("1.0.0, secure_version 1");
  });

  it("inspect shows the app descriptor and the signature block", async () => {
    const run = await cli("inspect", signed);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain("app: clawstack-energy-core 1.0.0, secure_version 1");
    expect(run.out).toMatch(/1 block\(s\), ok/);
    const json = await cli("inspect", signed, "--json");
    expect(JSON.parse(json.out)).toMatchObject({ appDescriptor: { version: "1.0.0", secureVersion: 1, projectName: "clawstack-energy-core" }, signatureCheck: "ok" });
  });

  it("refuses a tampered image", async () => {
    const tampered = Buffer.from(readFileSync(signed));
    const padding = tampered.length - SECTOR_SIZE - 1; // a byte of the 0xFF padding: covered by the digest
    tampered.writeUInt8(tampered.readUInt8(padding) ^ 0x01, padding);
    const path = join(work, `tampered-${scheme}.bin`);
    writeFileSync(path, tampered);
    refusedFor(await cli("verify", path, "--pubkey", pub), "image digest");
  });

  it("refuses when none of the given keys signed", async () => {
    refusedFor(await cli("verify", signed, "--pubkey", other), "trusted key");
  });
});

describe("bad input, each refused naming the failed check", () => {
  let key: string;
  let pub: string;
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    key = writePrivatePem(dir, "k.pem", pair.privateKey);
    pub = writePublicPem(dir, "k.pub.pem", pair.publicKey);
  });

  it("a file that is not an ESP32 image", async () => {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "hello, this is not firmware\n");
    refusedFor(await cli("inspect", path), "image magic");
    refusedFor(await cli("sign", path, "--key", key, "-o", join(dir, "x.bin")), "image magic");
    expect(existsSync(join(dir, "x.bin"))).toBe(false);
  });

  it("a truncated image", async () => {
    const path = join(dir, "cut.bin");
    writeFileSync(path, readFileSync(images.v100).subarray(0, 5000));
    refusedFor(await cli("sign", path, "--key", key, "-o", join(dir, "cut-signed.bin")), "image length");
    expect(existsSync(join(dir, "cut-signed.bin"))).toBe(false);
  });

  it("an existing signature sector when not appending, and a fourth block when appending", async () => {
    const keys = [0, 1, 2, 3].map((index) => writePrivatePem(dir, `rot${index}.pem`, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey));
    const paths = [0, 1, 2].map((index) => join(dir, `rot-${index}.bin`));
    expect((await cli("sign", images.v100, "--key", keys[0]!, "-o", paths[0]!)).code).toBe(0);
    refusedFor(await cli("sign", paths[0]!, "--key", keys[1]!, "-o", join(dir, "again.bin")), "signature sector");
    const appended = await cli("sign", paths[0]!, "--append", "--key", keys[1]!, "-o", paths[1]!);
    expect(appended.code).toBe(0);
    expect(appended.out).toContain("note: esp32 verifies only signature block 0");
    expect((await cli("sign", paths[1]!, "--append", "--key", keys[2]!, "-o", paths[2]!)).code).toBe(0);
    refusedFor(await cli("sign", paths[2]!, "--append", "--key", keys[3]!, "-o", join(dir, "four.bin")), "block count");
    expect(existsSync(join(dir, "four.bin"))).toBe(false);
  });

  it("a public key of the wrong type or size", async () => {
    const p384 = writePublicPem(dir, "p384.pub.pem", generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey);
    const rsa2048 = writePublicPem(dir, "rsa2048.pub.pem", generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey);
    const ed25519 = writePublicPem(dir, "ed.pub.pem", generateKeyPairSync("ed25519").publicKey);
    const signed = join(dir, "for-keys.bin");
    await cli("sign", images.v100, "--key", key, "-o", signed);
    for (const wrong of [p384, rsa2048, ed25519]) {
      const run = await cli("verify", signed, "--pubkey", wrong);
      refusedFor(run, "key type");
      expect(run.err).toContain(wrong);
    }
    const p384Private = writePrivatePem(dir, "p384.pem", generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey);
    refusedFor(await cli("sign", images.v100, "--key", p384Private, "-o", join(dir, "p384.bin")), "key type");
    const run = await cli("verify", signed, "--pubkey", pub);
    expect(run.code).toBe(0);
  });

  it("a missing file or an unreadable key is a usage error (exit 2) naming the path", async () => {
    const run = await cli("verify", join(dir, "nope.bin"), "--pubkey", pub);
    expect(run.code).toBe(2);
    expect(run.err).toContain("nope.bin");
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "garbage");
    const bad = await cli("sign", images.v100, "--key", notPem, "-o", join(dir, "y.bin"));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/`.*not\.pem` is not a PEM private key/);
  });
});

describe("release workflow on a file:// bucket", () => {
  let dir: string;
  let bucketDir: string;
  let bucket: string;
  let channels: string;
  let key: string;
  let stranger: string;
  const signed: Record<string, string> = {};
  const release = (...args: string[]) => cli(...args, "--bucket", bucket, "--channel", "stable", "--channels-dir", channels);

  beforeAll(async () => {
    dir = tempDir();
    bucketDir = join(dir, "bucket");
    bucket = `file://${bucketDir}`;
    channels = join(dir, "channels");
    execFileSync("mkdir", ["-p", channels]);
    key = join(dir, "release.pem");
    const made = await cli("keygen", "--scheme", "ecdsa-p256", "--out", key);
    const digest = /key digest: ([0-9a-f]{64})/.exec(made.out)![1]!;
    writeChannel(channels, "stable", [digest]);
    stranger = writePrivatePem(dir, "stranger.pem", generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
    for (const [name, path] of Object.entries(images)) {
      signed[name] = join(dir, `${name}.signed.bin`);
      expect((await cli("sign", path, "--key", key, "-o", signed[name]!)).code).toBe(0);
    }
  }, 60_000);

  it("publishes, verifies as a device would, refuses anti-rollback and republishing, rolls back with a log, deletes nothing", async () => {
    // Empty channel.
    refusedFor(await release("verify-release"), "channel pointer");

    // 1.0.0 then 1.1.0.
    let run = await release("publish", signed.v100!, "--key", key);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain("channel stable now points at 1.0.0");
    expect(run.out).toContain(`to file://${bucketDir}/channels/stable/releases/1.0.0/`);
    run = await release("publish", signed.v110!, "--key", key);
    expect(run.code, run.err).toBe(0);
    run = await release("verify-release");
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/points at 1\.1\.0 \(secure_version 1, floor 0\).*0 rollback record/);

    const manifest = JSON.parse(readFileSync(join(bucketDir, "channels/stable/releases/1.1.0/manifest.json"), "utf8"));
    expect(Object.keys(manifest.payload).sort()).toEqual(
      ["channel", "chip", "format", "imageKey", "imageKeyDigests", "imageName", "minSecureVersion", "publishedAt", "secureVersion", "sha256", "size", "timestamp", "version"].sort(),
    );
    expect(manifest.payload).toMatchObject({ version: "1.1.0", secureVersion: 1, minSecureVersion: 0, channel: "stable", size: readFileSync(signed.v110!).length });
    expect(manifest.signature.keyDigest).toMatch(/^[0-9a-f]{64}$/);

    // The same version again.
    refusedFor(await release("publish", signed.v110!, "--key", key), "object exists");
    // A key the channel does not allow.
    refusedFor(await release("publish", signed.v200!, "--key", stranger), "channel keys");
    // A chip the channel does not ship to.
    refusedFor(await release("publish", signed.s3chip!, "--key", key), "chip");

    // Rollback 1.1.0 -> 1.0.0 (allowed: same secure_version, floor 0).
    const before = snapshotTree(bucketDir);
    run = await release("rollback", "--to", "1.0.0", "--reason", "1.1.0 drains the battery", "--actor", "ops@example", "--key", key);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain("rolled back from 1.1.0 to 1.0.0");
    const after = snapshotTree(bucketDir);
    for (const [path, bytes] of before) {
      if (path === "channels/stable/current.json") continue;
      expect(after.get(path)?.equals(bytes), `${path} unchanged`).toBe(true);
    }
    const logKeys = [...after.keys()].filter((path) => path.startsWith("channels/stable/rollback-log/"));
    expect(logKeys).toHaveLength(1);
    const record = JSON.parse(after.get(logKeys[0]!)!.toString("utf8"));
    expect(record.payload).toMatchObject({ actor: "ops@example", from: { version: "1.1.0" }, to: { version: "1.0.0" }, reason: "1.1.0 drains the battery" });
    expect(record.payload.timestamp).toMatch(/^2026-11-23T09:/);
    run = await release("verify-release");
    expect(run.out).toMatch(/points at 1\.0\.0 .*1 rollback record/);

    // 2.0.0 raises the floor to secure_version 2.
    run = await release("publish", signed.v200!, "--key", key, "--min-secure-version", "2");
    expect(run.code, run.err).toBe(0);
    // An image below the current secure_version / floor.
    const low = await release("publish", signed.v120low!, "--key", key);
    refusedFor(low, "anti-rollback");
    expect(low.err).toContain("`secure_version` 0");
    // A rollback below the floor.
    const belowFloor = await release("rollback", "--to", "1.1.0", "--reason", "try", "--key", key);
    refusedFor(belowFloor, "anti-rollback");
    expect(belowFloor.err).toMatch(/below the channel's floor 2/);
    // A rollback without a reason, and to a version never published.
    refusedFor(await release("rollback", "--to", "1.0.0", "--reason", "  ", "--key", key), "rollback reason");
    refusedFor(await release("rollback", "--to", "3.0.0", "--reason", "x", "--key", key), "rollback target");

    // The log only grew; every image and manifest is still there.
    const final = snapshotTree(bucketDir);
    for (const path of before.keys()) expect(final.has(path), path).toBe(true);
    expect(final.get(logKeys[0]!)!.equals(after.get(logKeys[0]!)!)).toBe(true);
  });

  it("a manifest with a bad signature is refused, by verify-release and by publish", async () => {
    const current = join(bucketDir, "channels/stable/current.json");
    const original = readFileSync(current);
    const document = JSON.parse(original.toString("utf8"));
    document.payload.minSecureVersion = 0; // an attacker lowering the floor
    writeFileSync(current, JSON.stringify(document));
    try {
      const run = await release("verify-release");
      refusedFor(run, "manifest signature");
      expect(run.err).toContain("does not verify over the payload");
      refusedFor(await release("publish", signed.v120low!, "--key", key), "manifest signature");
    } finally {
      writeFileSync(current, original);
    }
    expect((await release("verify-release")).code).toBe(0);
  });

  it("an empty key list in a channel refuses every publish", async () => {
    writeChannel(channels, "beta", []);
    const run = await cli("publish", signed.v100!, "--key", key, "--bucket", bucket, "--channel", "beta", "--channels-dir", channels);
    refusedFor(run, "channel keys");
  });
});

describe("the real command line", () => {
  it("npm run firmware exits 1 for a refused image and 2 for bad usage", () => {
    const status = (args: string[]): number => {
      try {
        execFileSync(TSX, [join(REPO, "firmware-images/cli.ts"), ...args], { cwd: REPO, stdio: "pipe" });
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    };
    const notImage = join(work, "plain.txt");
    writeFileSync(notImage, "plain text");
    expect(status(["inspect", notImage])).toBe(1);
    expect(status(["frobnicate"])).toBe(2);
  }, 60_000);
});
