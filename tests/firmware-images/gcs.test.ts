/**
 * gs:// firmware buckets through the real `@google-cloud/storage` client,
 * against a loopback stand-in for the Cloud Storage JSON API that behaves like
 * the ClawStack bucket's locked retention policy (no object is ever replaced or
 * deleted). The release workflow runs end to end; the channel pointer becomes an
 * append-only sequence moved by compare-and-swap, so of concurrent moves one
 * lands and the others are refused (their checks were made against an old pointer).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBucket } from "../../firmware-images/buckets";
import { main } from "../../firmware-images/cli";
import { FirmwareCheckError, FirmwareUsageError } from "../../firmware-images/errors";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { startGcsStandIn, type GcsStandIn } from "./gcs-stand-in";
import { tempDir, writeChannel } from "./helpers";

let gcs: GcsStandIn;
beforeAll(async () => {
  // Small pages, so listing exercises the client's pagination.
  gcs = await startGcsStandIn("claw-firmware", { pageSize: 3 });
});
afterAll(async () => {
  await gcs?.close();
});

interface Run {
  code: number;
  out: string;
  err: string;
}

let minute = 0;
/** One minute per clock reading across runs, so releases and rollbacks are ordered. */
async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (line) => out.push(line), stderr: (line) => err.push(line), now: () => new Date(Date.UTC(2026, 10, 23, 12, minute++)) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("gs:// release workflow", () => {
  it("publishes, verifies, refuses republishing, rolls back; nothing is replaced or deleted and the pointer history is kept", async () => {
    const dir = tempDir();
    const channels = join(dir, "channels");
    mkdirSync(channels);
    const key = join(dir, "release.pem");
    const made = await cli("keygen", "--scheme", "ecdsa-p256", "--out", key);
    writeChannel(channels, "stable", [/key digest: ([0-9a-f]{64})/.exec(made.out)![1]!]);
    const signed: Record<string, string> = {};
    for (const version of ["1.0.0", "1.1.0"]) {
      const path = join(dir, `app-${version}.bin`);
      writeFileSync(path, buildTestImage({ version, secureVersion: 1, size: 20_000 }));
      signed[version] = join(dir, `app-${version}.signed.bin`);
      expect((await cli("sign", path, "--key", key, "-o", signed[version]!)).code).toBe(0);
    }
    const bucket = `gs://claw-firmware/releases?endpoint=${gcs.url}`;
    const release = (...args: string[]) => cli(...args, "--bucket", bucket, "--channel", "stable", "--channels-dir", channels);

    const empty = await release("verify-release");
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/^refused: channel pointer: /);
    for (const version of ["1.0.0", "1.1.0"]) {
      const run = await release("publish", signed[version]!, "--key", key);
      expect(run.code, run.err).toBe(0);
      expect(run.out).toContain(`channel stable now points at ${version}`);
    }
    let run = await release("verify-release");
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/points at 1\.1\.0/);

    const again = await release("publish", signed["1.1.0"]!, "--key", key);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^refused: object exists: /);

    run = await release("rollback", "--to", "1.0.0", "--reason", "1.1.0 drains the battery", "--actor", "ops@example", "--key", key);
    expect(run.code, run.err).toBe(0);
    run = await release("verify-release");
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/points at 1\.0\.0 .*1 rollback record/);

    const names = [...gcs.objects.keys()].sort();
    expect(names.filter((name) => name.startsWith("releases/channels/stable/current.json.d/"))).toEqual(
      ["000000000001", "000000000002", "000000000003"].map((n) => `releases/channels/stable/current.json.d/${n}`),
    );
    expect(names).not.toContain("releases/channels/stable/current.json");
    expect(names.filter((name) => name.includes("/releases/1.1.0/"))).toHaveLength(2);
    expect(names.filter((name) => name.includes("/rollback-log/"))).toHaveLength(1);
    // Every write was create-only, and nothing tried to replace or delete an object.
    const writes = gcs.requests.filter((request) => request.startsWith("POST "));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((request) => request.includes("ifGenerationMatch=0"))).toBe(true);
    expect(gcs.requests.some((request) => request.startsWith("DELETE "))).toBe(false);
  });
});

describe("GcsBucket", () => {
  it("moves a pointer by compare-and-swap: of several publishers that read the same pointer, one wins and the rest are refused", async () => {
    const url = `gs://claw-firmware/race?endpoint=${gcs.url}`;
    const first = openBucket(url);
    await first.get("channels/x/current.json");
    await first.put("channels/x/current.json", Buffer.from("v1"), { contentType: "application/json", mode: "overwrite" });
    // Five publishers (one bucket object each, as five processes would have) all read pointer 1, then all move it.
    const publishers = ["a", "b", "c", "d", "e"].map(() => openBucket(url));
    for (const publisher of publishers) expect((await publisher.get("channels/x/current.json"))!.toString()).toBe("v1");
    const outcomes = await Promise.allSettled(
      publishers.map((publisher, index) => publisher.put("channels/x/current.json", Buffer.from(`v2-${index}`), { contentType: "application/json", mode: "overwrite" })),
    );
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    expect(refused).toHaveLength(4);
    for (const outcome of refused) expect((outcome.reason as FirmwareCheckError).check).toBe("pointer race");
    const sequence = await first.list("channels/x/current.json.d/");
    expect(sequence).toEqual(["1", "2"].map((n) => `channels/x/current.json.d/${n.padStart(12, "0")}`));
    const winner = gcs.objects.get(`race/${sequence[1]}`)!.data.toString();
    expect((await openBucket(url).get("channels/x/current.json"))!.toString()).toBe(winner);
    // Only pointers move; every other key is create-only, and a pointer-like suffix never shadows it.
    await expect(first.put("channels/x/releases/1.0.0/manifest.json", Buffer.from("m"), { contentType: "application/json", mode: "overwrite" })).rejects.toThrow(
      /only channel pointers/,
    );
    await first.put("channels/x/releases/1.0.0/manifest.json", Buffer.from("m"), { contentType: "application/json", mode: "create" });
    gcs.objects.set("race/channels/x/releases/1.0.0/manifest.json.d/000000000009", { data: Buffer.from("shadow"), contentType: "application/json", generation: 1 });
    expect((await first.get("channels/x/releases/1.0.0/manifest.json"))!.toString()).toBe("m");
    expect(await first.get("channels/x/none.json")).toBeUndefined();
  });

  it("refuses a gs:// URL without a bucket, a non-http endpoint and a bad key", async () => {
    expect(() => openBucket("gs:///path")).toThrow(FirmwareUsageError);
    expect(() => openBucket("gs://b?endpoint=ftp://x")).toThrow(/`endpoint` in the bucket URL must be an http\(s\) URL/);
    const bucket = openBucket(`gs://claw-firmware?endpoint=${gcs.url}`);
    await expect(bucket.get("../escape")).rejects.toThrow(FirmwareUsageError);
  });
});
