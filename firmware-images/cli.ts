/**
 * `npm run firmware -- <command>`: the ESP32 Secure Boot V2 signer and the
 * firmware release tooling. Exit codes: 0 ok; 1 a check failed or the action
 * was refused (bad image, bad signature, untrusted key, anti-rollback...);
 * 2 usage error or unreadable input (missing file, bad PEM, bad channel YAML).
 */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { randomBytes } from "node:crypto";
import { KMSClient } from "@aws-sdk/client-kms";
import type { S3Client } from "@aws-sdk/client-s3";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ConfigError } from "../core/errors";
import type { Storage } from "@google-cloud/storage";
import { openBucket } from "./buckets";
import { DEFAULT_CHANNELS_DIR, loadChannel, trustKeyDigest } from "./channels";
import { FirmwareCheckError, FirmwareUsageError } from "./errors";
import type { EspImage } from "./esp-image";
import { publish, readRollbackLog, rollback, verifyChannel } from "./release";
import { readSignatureBlocks, signImage, splitSignedImage, verifyImage } from "./signed-image";
import { CloudKmsSigner, KmsSigner, LocalKeySigner, loadTrustedKey, signerIdentity, type CloudKmsClient, type ImageSigner } from "./signer-backends";

export interface CliDependencies {
  kmsClient?: KMSClient;
  /** GCP Cloud KMS; by default `@google-cloud/kms`, loaded only when `--gcp-kms-key` is given. */
  cloudKmsClient?: CloudKmsClient;
  s3Client?: S3Client;
  gcsStorage?: Storage;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  now?: () => Date;
}

interface SignerOptions {
  key?: string;
  kmsKeyId?: string;
  kmsRegion?: string;
  gcpKmsKey?: string;
}

/** The real Cloud KMS client, with credentials from Application Default Credentials (or workload identity federation). */
function defaultCloudKmsClient(): CloudKmsClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: gRPC is heavy and only this signer needs it
  const { KeyManagementServiceClient } = require("@google-cloud/kms") as typeof import("@google-cloud/kms");
  const client: CloudKmsClient = new KeyManagementServiceClient();
  return client;
}

/** Chips whose ROM verifies one signature block only (ESP32 ECO3 and ESP32-C2): no key rotation by appending. */
const SINGLE_BLOCK_CHIPS: readonly string[] = ["esp32", "esp32c2"];

const hex = (value: number, width = 8): string => `0x${value.toString(16).padStart(width, "0")}`;

function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new FirmwareUsageError(`cannot read \`${path}\`: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Writes via a temporary file and rename, so a failed run never leaves half a file. */
function writeOutput(path: string, bytes: Buffer): void {
  const temporary = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(temporary, bytes, { flag: "wx", mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new FirmwareUsageError(`cannot write \`${path}\`: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError(`expected a non-negative integer, given ${value}`);
  return parsed;
}

function addSignerOptions(command: Command): Command {
  return command
    .option("--key <pem>", "local PEM private key (ECDSA P-256 or RSA-3072)")
    .option("--kms-key-id <id>", "AWS KMS key id or ARN (ECC_NIST_P256 or RSA_3072, SIGN_VERIFY)")
    .option("--kms-region <region>", "AWS region of the KMS key (defaults to the SDK's)")
    .option("--gcp-kms-key <version>", "GCP Cloud KMS key version (projects/../cryptoKeys/<k>/cryptoKeyVersions/<n>; EC_SIGN_P256_SHA256 or RSA_SIGN_PSS_3072_SHA256)");
}

function describeImage(image: EspImage, size: number, lines: string[]): void {
  const { header } = image;
  lines.push(`chip: ${header.chip} (id ${hex(header.chipId, 4)}), entry ${hex(header.entryAddress)}, ${header.segmentCount} segments, ${size} bytes`);
  for (const segment of image.segments) {
    lines.push(`  segment ${segment.index}: load ${hex(segment.loadAddress)}, ${segment.length} bytes at offset ${hex(segment.dataOffset, 0)}`);
  }
  lines.push(`checksum: ${hex(image.checksum, 2)} (ok)`);
  lines.push(`appended SHA-256: ${image.appendedSha256 ? `${image.appendedSha256} (ok)` : "none"}`);
  const app = image.appDescriptor;
  if (app) {
    lines.push(`app: ${app.projectName} ${app.version}, secure_version ${app.secureVersion}, built ${app.date} ${app.time}, IDF ${app.idfVersion}`);
    lines.push(`app ELF SHA-256: ${app.appElfSha256}`);
  } else {
    lines.push("app descriptor: none (no esp_app_desc_t magic 0xabcd5432 at offset 0x20)");
  }
}

export function buildProgram(dependencies: CliDependencies = {}): Command {
  const out = dependencies.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = dependencies.now ?? (() => new Date());

  const bucketClients = {
    ...(dependencies.s3Client ? { s3Client: dependencies.s3Client } : {}),
    ...(dependencies.gcsStorage ? { gcsStorage: dependencies.gcsStorage } : {}),
  };

  const makeSigner = (options: SignerOptions): ImageSigner => {
    const given = [options.key && "`--key`", options.kmsKeyId && "`--kms-key-id`", options.gcpKmsKey && "`--gcp-kms-key`"].filter(Boolean);
    if (given.length > 1) throw new FirmwareUsageError(`give one signer, not ${given.join(" and ")}`);
    if (options.gcpKmsKey) return new CloudKmsSigner(dependencies.cloudKmsClient ?? defaultCloudKmsClient(), options.gcpKmsKey);
    if (options.kmsKeyId) {
      const client = dependencies.kmsClient ?? new KMSClient(options.kmsRegion ? { region: options.kmsRegion } : {});
      return new KmsSigner(client, options.kmsKeyId);
    }
    if (options.key) return LocalKeySigner.fromPemFile(options.key);
    throw new FirmwareUsageError("a signing key is required: `--key <pem>`, `--kms-key-id <id>` (AWS KMS) or `--gcp-kms-key <version>` (Cloud KMS)");
  };

  const program = new Command("firmware")
    .description("ESP32 Secure Boot V2 signer and firmware release tooling")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => out(text.trimEnd()), writeErr: (text) => (dependencies.stderr ?? ((line: string) => process.stderr.write(`${line}\n`)))(text.trimEnd()) });

  program
    .command("inspect")
    .description("parse an ESP32 image: header, segments, checksum, app descriptor, signature blocks")
    .argument("<image>", "image file")
    .option("--json", "print JSON")
    .action((path: string, options: { json?: boolean }) => {
      const bytes = readInput(path);
      const { split, blocks } = readSignatureBlocks(bytes);
      // Runs the block checks (digest, signature against the embedded key) without requiring a trusted key.
      let signatureCheck = blocks.length === 0 ? "unsigned" : "ok";
      if (blocks.length > 0) {
        try {
          verifyImage(bytes, []);
        } catch (error) {
          if (!(error instanceof FirmwareCheckError)) throw error;
          if (error.check !== "trusted key") signatureCheck = error.message;
        }
      }
      const blockInfo = blocks.map((block) => ({ index: block.index, scheme: block.scheme, keyDigest: block.keyDigest, imageDigest: block.imageDigest.toString("hex"), crc: hex(block.crc) }));
      if (options.json) {
        out(JSON.stringify({ file: path, size: bytes.length, ...split.image, signedLength: split.sector ? split.signedData.length : undefined, signatureBlocks: blockInfo, signatureCheck }, null, 2));
      } else {
        const lines = [`image: ${path}`];
        describeImage(split.image, bytes.length, lines);
        if (split.sector) {
          lines.push(`Secure Boot V2 signature sector at ${hex(split.signedData.length, 0)}: ${blocks.length} block(s), ${signatureCheck}`);
          for (const block of blockInfo) lines.push(`  block ${block.index}: ${block.scheme}, key digest ${block.keyDigest}, image digest ${block.imageDigest}, crc ${block.crc}`);
        } else {
          lines.push("Secure Boot V2 signature sector: none");
        }
        out(lines.join("\n"));
      }
      if (signatureCheck !== "ok" && signatureCheck !== "unsigned") throw new FirmwareCheckError("signature blocks", signatureCheck);
    });

  addSignerOptions(
    program
      .command("sign")
      .description("pad to 4096 bytes and append a Secure Boot V2 signature sector (or, with --append, one more block)")
      .argument("<image>", "image file")
      .requiredOption("-o, --out <file>", "where to write the signed image")
      .option("--append", "add a block to an existing signature sector (key rotation; at most 3 blocks)"),
  ).action(async (path: string, options: SignerOptions & { out: string; append?: boolean }) => {
    const bytes = readInput(path);
    const signer = makeSigner(options);
    const result = await signImage(bytes, signer, { append: options.append ?? false });
    writeOutput(options.out, result.signed);
    out(`signed ${options.out}: block ${result.block.index} (${result.blockCount} of 3), ${result.block.scheme}, key digest ${result.block.keyDigest}, image digest ${result.block.imageDigest.toString("hex")}`);
    const chip = splitSignedImage(result.signed).image.header.chip;
    if (result.blockCount > 1 && SINGLE_BLOCK_CHIPS.includes(chip)) {
      out(`note: ${chip} verifies only signature block 0 (one key digest in eFuse); block ${result.block.index} does not rotate keys on this chip`);
    }
  });

  program
    .command("verify")
    .description("check magic, checksum, CRC32, digest and every signature; say which given key signed")
    .argument("<image>", "signed image file")
    .addOption(new Option("--pubkey <pem...>", "trusted public key(s) (ECDSA P-256 or RSA-3072)").makeOptionMandatory())
    .option("--json", "print JSON")
    .action((path: string, options: { pubkey: string[]; json?: boolean }) => {
      const trusted = options.pubkey.map(loadTrustedKey);
      const bytes = readInput(path);
      const report = verifyImage(bytes, trusted);
      if (options.json) {
        out(JSON.stringify({ file: path, ok: true, blocks: report.blocks, appDescriptor: report.image.appDescriptor }, null, 2));
        return;
      }
      const lines = [`OK: ${path} (${report.image.header.chip}${report.image.appDescriptor ? `, ${report.image.appDescriptor.version}, secure_version ${report.image.appDescriptor.secureVersion}` : ""})`];
      for (const block of report.blocks) {
        lines.push(`  block ${block.index}: ${block.scheme}, key digest ${block.keyDigest}, ${block.trustedKey ? `signed by ${block.trustedKey}` : "valid, but not one of the given keys"}`);
      }
      out(lines.join("\n"));
    });

  const releaseCommand = (name: string, description: string): Command =>
    addSignerOptions(
      program
        .command(name)
        .description(description)
        .requiredOption("--bucket <url>", "file:///dir, s3://bucket[/prefix]?region=..&endpoint=..&sse=aws:kms|none or gs://bucket[/prefix]?kmsKeyName=..")
        .requiredOption("--channel <name>", "release channel (firmware-images/channels/<name>.yaml)")
        .option("--channels-dir <dir>", "where the channel YAML files live", DEFAULT_CHANNELS_DIR),
    );

  releaseCommand("publish", "upload a signed image and its signed manifest, then move the channel to it")
    .argument("<image>", "signed image file")
    .option("--name <file>", "object name of the image (defaults to <project>-<version>.bin)")
    .option("--min-secure-version <n>", "raise the channel's anti-rollback floor", nonNegativeInteger)
    .action(async (path: string, options: SignerOptions & { bucket: string; channel: string; channelsDir: string; name?: string; minSecureVersion?: number }) => {
      const channel = loadChannel(options.channel, options.channelsDir);
      const image = readInput(path);
      const bucket = openBucket(options.bucket, bucketClients);
      const manifest = await publish({
        bucket,
        channel,
        image,
        signer: makeSigner(options),
        now: now(),
        ...(options.name ? { imageName: options.name } : {}),
        ...(options.minSecureVersion !== undefined ? { minSecureVersion: options.minSecureVersion } : {}),
      });
      out(`published ${manifest.version} (secure_version ${manifest.secureVersion}, floor ${manifest.minSecureVersion}) to ${bucket.location}${manifest.imageKey}\nchannel ${channel.channel} now points at ${manifest.version}, SHA-256 ${manifest.sha256}`);
    });

  releaseCommand("rollback", "point the channel at an earlier release allowed by the anti-rollback floor, and log it")
    .requiredOption("--to <version>", "the earlier version")
    .requiredOption("--reason <text>", "why (kept in the rollback log)")
    .option("--actor <name>", "who rolls back (defaults to the OS user)")
    .action(async (options: SignerOptions & { bucket: string; channel: string; channelsDir: string; to: string; reason: string; actor?: string }) => {
      const channel = loadChannel(options.channel, options.channelsDir);
      const bucket = openBucket(options.bucket, bucketClients);
      const result = await rollback({
        bucket,
        channel,
        toVersion: options.to,
        reason: options.reason,
        actor: options.actor ?? process.env.USER ?? userInfo().username,
        signer: makeSigner(options),
        now: now(),
      });
      out(`channel ${channel.channel} rolled back from ${result.record.from.version} to ${result.record.to.version} (floor ${result.record.minSecureVersion}); logged at ${result.recordKey}`);
    });

  program
    .command("verify-release")
    .description("check a channel as a device would: pointer signature, image SHA-256 and Secure Boot blocks")
    .requiredOption("--bucket <url>", "bucket URL")
    .requiredOption("--channel <name>", "release channel")
    .option("--channels-dir <dir>", "where the channel YAML files live", DEFAULT_CHANNELS_DIR)
    .action(async (options: { bucket: string; channel: string; channelsDir: string }) => {
      const channel = loadChannel(options.channel, options.channelsDir);
      const bucket = openBucket(options.bucket, bucketClients);
      const current = await verifyChannel(bucket, channel);
      const log = await readRollbackLog(bucket, channel);
      out(`OK: channel ${channel.channel} points at ${current.version} (secure_version ${current.secureVersion}, floor ${current.minSecureVersion}), ${current.imageKey}, SHA-256 ${current.sha256}; ${log.length} rollback record(s)`);
    });

  program
    .command("keygen")
    .description("create a signing key (PEM, mode 600); prints only its public key and digest")
    .addOption(new Option("--scheme <scheme>", "key type").choices(["ecdsa-p256", "rsa-3072"]).makeOptionMandatory())
    .requiredOption("--out <file>", "where to write the private key (must not exist)")
    .action(async (options: { scheme: "ecdsa-p256" | "rsa-3072"; out: string }) => {
      const { privateKey } =
        options.scheme === "ecdsa-p256"
          ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
          : generateKeyPairSync("rsa", { modulusLength: 3072, publicExponent: 65537 });
      try {
        writeFileSync(options.out, privateKey.export({ format: "pem", type: "pkcs8" }), { flag: "wx", mode: 0o600 });
      } catch (error) {
        throw new FirmwareUsageError(`cannot create \`${options.out}\`: ${(error as NodeJS.ErrnoException).code ?? String(error)} (keygen never overwrites a key)`);
      }
      const identity = await signerIdentity(LocalKeySigner.fromKeyObject(privateKey, options.out));
      out(`wrote ${options.scheme} private key to ${options.out} (mode 600)\nkey digest: ${identity.keyDigest}\n${identity.publicKey.export({ format: "pem", type: "spki" }).toString().trimEnd()}`);
    });

  addSignerOptions(
    program
      .command("pubkey")
      .description("print a signing key's public key and Secure Boot V2 key digest (for channel YAML)")
      .option("--out <file>", "write only the public key (PEM, what `verify --pubkey` takes) to this file"),
  ).action(async (options: SignerOptions & { out?: string }) => {
    const identity = await signerIdentity(makeSigner(options));
    const pem = `${identity.publicKey.export({ format: "pem", type: "spki" }).toString().trimEnd()}\n`;
    if (options.out) {
      writeOutput(options.out, Buffer.from(pem));
      out(`wrote the public key to ${options.out}\nkey digest: ${identity.keyDigest}`);
      return;
    }
    out(`scheme: ${identity.scheme}\nkey digest: ${identity.keyDigest}\n${pem.trimEnd()}`);
  });

  addSignerOptions(
    program
      .command("trust")
      .description("allow a signing key on a channel: adds its key digest to the channel YAML's signingKeyDigests")
      .requiredOption("--channel <name>", "release channel")
      .option("--channels-dir <dir>", "where the channel YAML files live", DEFAULT_CHANNELS_DIR),
  ).action(async (options: SignerOptions & { channel: string; channelsDir: string }) => {
    const identity = await signerIdentity(makeSigner(options));
    const result = trustKeyDigest(options.channel, identity.keyDigest, options.channelsDir);
    out(`channel ${options.channel}: key digest ${identity.keyDigest} ${result === "added" ? "added" : "was already trusted"}`);
  });

  return program;
}

/** Runs the CLI and returns the exit code (0 ok, 1 refused or failed check, 2 usage or unreadable input). */
export async function main(argv: string[], dependencies: CliDependencies = {}): Promise<number> {
  const err = dependencies.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    await buildProgram(dependencies).parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof FirmwareCheckError) {
      err(`refused: ${error.message}`);
      return 1;
    }
    if (error instanceof FirmwareUsageError || error instanceof ConfigError) {
      err(`error: ${error.message}`);
      return 2;
    }
    err(`failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
