/**
 * The release workflow on a bucket: publish a signed image with its signed
 * manifest and move the channel pointer; roll the pointer back to an earlier
 * release within the anti-rollback floor, logging who did it and why.
 *
 * Bucket layout (all keys under the bucket URL):
 *   channels/<channel>/releases/<version>/<image name>   signed image (create-only)
 *   channels/<channel>/releases/<version>/manifest.json  signed release manifest (create-only)
 *   channels/<channel>/current.json                      signed pointer: the manifest devices follow
 *   channels/<channel>/rollback-log/<time>-<id>.json     signed rollback records (create-only, append-only log)
 */
import { createHash, randomBytes } from "node:crypto";
import { basename } from "node:path";
import type { ArtifactBucket } from "./buckets";
import type { ChannelDefinition } from "./channels";
import { FirmwareCheckError } from "./errors";
import {
  MANIFEST_FORMAT,
  ROLLBACK_RECORD_FORMAT,
  parseJsonDocument,
  releaseManifestSchema,
  rollbackRecordSchema,
  signDocument,
  verifyDocument,
  type ReleaseManifest,
  type RollbackRecord,
} from "./manifest";
import { verifyImage } from "./signed-image";
import { signerIdentity, type ImageSigner } from "./signer-backends";

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export const channelKeys = (channel: string) => ({
  current: `channels/${channel}/current.json`,
  release: (version: string) => `channels/${channel}/releases/${version}/`,
  manifest: (version: string) => `channels/${channel}/releases/${version}/manifest.json`,
  rollbackLog: `channels/${channel}/rollback-log/`,
});

function allowedKeyNames(channel: ChannelDefinition): { name: string; keyDigest: string }[] {
  if (channel.signingKeyDigests.length === 0) {
    throw new FirmwareCheckError("channel keys", `channel ${channel.channel} allows no signing key yet; add a digest to \`signingKeyDigests\` in its YAML`);
  }
  return channel.signingKeyDigests.map((digest) => ({ name: `channel ${channel.channel} key ${digest.slice(0, 12)}`, keyDigest: digest }));
}

async function requireAllowedSigner(signer: ImageSigner, channel: ChannelDefinition): Promise<string> {
  const { keyDigest } = await signerIdentity(signer);
  if (!channel.signingKeyDigests.includes(keyDigest)) {
    throw new FirmwareCheckError("channel keys", `${signer.description} has key digest ${keyDigest}, which channel ${channel.channel} does not allow`);
  }
  return keyDigest;
}

async function readManifest(bucket: ArtifactBucket, key: string, channel: ChannelDefinition): Promise<ReleaseManifest | undefined> {
  const bytes = await bucket.get(key);
  if (!bytes) return undefined;
  const { payload } = verifyDocument(parseJsonDocument(bytes, key), releaseManifestSchema, channel.signingKeyDigests, key);
  if (payload.channel !== channel.channel) {
    throw new FirmwareCheckError("manifest format", `${key} belongs to channel ${payload.channel}, not ${channel.channel}`);
  }
  return payload;
}

/** The channel's current pointer, verified; undefined for a channel never published to. */
export async function readCurrent(bucket: ArtifactBucket, channel: ChannelDefinition): Promise<ReleaseManifest | undefined> {
  return readManifest(bucket, channelKeys(channel.channel).current, channel);
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");

export interface PublishArgs {
  bucket: ArtifactBucket;
  channel: ChannelDefinition;
  image: Buffer;
  /** Object name of the image; defaults to `<project>-<version>.bin`. */
  imageName?: string;
  signer: ImageSigner;
  /** Raise the anti-rollback floor to this `secure_version`; defaults to keeping the channel's floor (0 at first). */
  minSecureVersion?: number;
  now?: Date;
}

/**
 * Publishes a signed image: verifies it against the channel's keys and chip,
 * enforces anti-rollback, then writes image, manifest and (last) the pointer.
 */
export async function publish(args: PublishArgs): Promise<ReleaseManifest> {
  const { bucket, channel, image } = args;
  const report = verifyImage(image, allowedKeyNames(channel));
  const manifestKeyDigest = await requireAllowedSigner(args.signer, channel);
  const descriptor = report.image.appDescriptor;
  if (!descriptor) {
    throw new FirmwareCheckError("app descriptor", "the image has no esp_app_desc_t (magic 0xabcd5432 at offset 0x20), so it has no version or secure_version");
  }
  if (report.image.header.chip !== channel.chip) {
    throw new FirmwareCheckError("chip", `the image targets ${report.image.header.chip}; channel ${channel.channel} ships to ${channel.chip}`);
  }
  if (!VERSION.test(descriptor.version)) {
    throw new FirmwareCheckError("app version", `the app version ${JSON.stringify(descriptor.version)} must be letters, digits, '.', '_', '+', '-'`);
  }
  const current = await readCurrent(bucket, channel);
  const floor = current?.minSecureVersion ?? 0;
  if (current && descriptor.secureVersion < current.secureVersion) {
    throw new FirmwareCheckError(
      "anti-rollback",
      `\`secure_version\` ${descriptor.secureVersion} is lower than channel ${channel.channel}'s current ${current.secureVersion} (version ${current.version})`,
    );
  }
  if (descriptor.secureVersion < floor) {
    throw new FirmwareCheckError("anti-rollback", `\`secure_version\` ${descriptor.secureVersion} is below the channel's floor ${floor}`);
  }
  const minSecureVersion = args.minSecureVersion ?? floor;
  if (minSecureVersion < floor) {
    throw new FirmwareCheckError("anti-rollback", `\`--min-secure-version\` ${minSecureVersion} would lower the channel's floor ${floor}; the floor only rises`);
  }
  if (minSecureVersion > descriptor.secureVersion) {
    throw new FirmwareCheckError("anti-rollback", `\`--min-secure-version\` ${minSecureVersion} is above the image's \`secure_version\` ${descriptor.secureVersion}`);
  }
  const keys = channelKeys(channel.channel);
  if ((await bucket.list(keys.release(descriptor.version))).length > 0) {
    throw new FirmwareCheckError("object exists", `version ${descriptor.version} is already published on channel ${channel.channel}; bump the version`);
  }
  const imageName = args.imageName ?? `${descriptor.projectName || "firmware"}-${descriptor.version}.bin`;
  const imageKey = keys.release(descriptor.version) + basename(imageName);
  const timestamp = (args.now ?? new Date()).toISOString();
  const manifest: ReleaseManifest = {
    format: MANIFEST_FORMAT,
    channel: channel.channel,
    chip: channel.chip,
    imageName: basename(imageName),
    imageKey,
    version: descriptor.version,
    secureVersion: descriptor.secureVersion,
    minSecureVersion,
    sha256: createHash("sha256").update(image).digest("hex"),
    size: image.length,
    imageKeyDigests: report.blocks.map((block) => block.keyDigest),
    publishedAt: timestamp,
    timestamp,
  };
  const document = await signDocument(manifest, args.signer);
  if (document.signature.keyDigest !== manifestKeyDigest) throw new FirmwareCheckError("signer output", "the signer changed keys while publishing");
  await bucket.put(imageKey, image, { contentType: "application/octet-stream", mode: "create" });
  await bucket.put(keys.manifest(descriptor.version), json(document), { contentType: "application/json", mode: "create" });
  await bucket.put(keys.current, json(document), { contentType: "application/json", mode: "overwrite" });
  return manifest;
}

export interface RollbackArgs {
  bucket: ArtifactBucket;
  channel: ChannelDefinition;
  toVersion: string;
  reason: string;
  actor: string;
  signer: ImageSigner;
  now?: Date;
}

/**
 * Points the channel at an earlier release still allowed by the floor, after
 * checking its manifest and image; logs a signed record first. Deletes nothing.
 */
export async function rollback(args: RollbackArgs): Promise<{ pointer: ReleaseManifest; record: RollbackRecord; recordKey: string }> {
  const { bucket, channel } = args;
  if (args.reason.trim().length === 0) throw new FirmwareCheckError("rollback reason", "`--reason` must say why the channel is rolled back");
  if (!VERSION.test(args.toVersion)) throw new FirmwareCheckError("rollback target", `\`--to\` must be a version name; given ${JSON.stringify(args.toVersion)}`);
  await requireAllowedSigner(args.signer, channel);
  const keys = channelKeys(channel.channel);
  const current = await readCurrent(bucket, channel);
  if (!current) throw new FirmwareCheckError("rollback target", `channel ${channel.channel} has no release to roll back from`);
  const target = await readManifest(bucket, keys.manifest(args.toVersion), channel);
  if (target && target.version !== args.toVersion) {
    throw new FirmwareCheckError("manifest format", `${keys.manifest(args.toVersion)} describes version ${target.version}, not ${args.toVersion}`);
  }
  if (!target) throw new FirmwareCheckError("rollback target", `version ${args.toVersion} was never published on channel ${channel.channel}`);
  if (target.version === current.version) throw new FirmwareCheckError("rollback target", `channel ${channel.channel} already points at ${target.version}`);
  if (target.publishedAt >= current.publishedAt) {
    throw new FirmwareCheckError("rollback target", `version ${target.version} (published ${target.publishedAt}) is not earlier than the current ${current.version} (${current.publishedAt})`);
  }
  const floor = current.minSecureVersion;
  if (target.secureVersion < floor) {
    throw new FirmwareCheckError("anti-rollback", `version ${target.version} has \`secure_version\` ${target.secureVersion}, below the channel's floor ${floor}; devices would refuse it`);
  }
  const image = await bucket.get(target.imageKey);
  if (!image || createHash("sha256").update(image).digest("hex") !== target.sha256) {
    throw new FirmwareCheckError("rollback target", `the image of ${target.version} at ${target.imageKey} is missing or does not match its manifest's SHA-256`);
  }
  verifyImage(image, allowedKeyNames(channel));

  const now = args.now ?? new Date();
  const timestamp = now.toISOString();
  const record: RollbackRecord = {
    format: ROLLBACK_RECORD_FORMAT,
    channel: channel.channel,
    actor: args.actor,
    timestamp,
    from: { version: current.version, secureVersion: current.secureVersion },
    to: { version: target.version, secureVersion: target.secureVersion },
    minSecureVersion: floor,
    reason: args.reason,
  };
  const recordKey = `${keys.rollbackLog}${timestamp.replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}.json`;
  const pointer: ReleaseManifest = {
    ...target,
    minSecureVersion: floor,
    timestamp,
    rollback: { from: current.version, reason: args.reason, recordKey },
  };
  const [recordDocument, pointerDocument] = [await signDocument(record, args.signer), await signDocument(pointer, args.signer)];
  await bucket.put(recordKey, json(recordDocument), { contentType: "application/json", mode: "create" });
  await bucket.put(keys.current, json(pointerDocument), { contentType: "application/json", mode: "overwrite" });
  return { pointer, record, recordKey };
}

/** The rollback log of a channel, each record verified, oldest first. */
export async function readRollbackLog(bucket: ArtifactBucket, channel: ChannelDefinition): Promise<RollbackRecord[]> {
  const records: RollbackRecord[] = [];
  for (const key of await bucket.list(channelKeys(channel.channel).rollbackLog)) {
    const bytes = await bucket.get(key);
    if (!bytes) continue;
    records.push(verifyDocument(parseJsonDocument(bytes, key), rollbackRecordSchema, channel.signingKeyDigests, key).payload);
  }
  return records;
}

/**
 * What a device does: read the pointer, check its signature, fetch the image,
 * check size and SHA-256, verify the Secure Boot blocks.
 */
export async function verifyChannel(bucket: ArtifactBucket, channel: ChannelDefinition): Promise<ReleaseManifest> {
  const current = await readCurrent(bucket, channel);
  if (!current) throw new FirmwareCheckError("channel pointer", `channel ${channel.channel} has no current release in ${bucket.location}`);
  const image = await bucket.get(current.imageKey);
  if (!image) throw new FirmwareCheckError("release image", `${current.imageKey} is missing`);
  const digest = createHash("sha256").update(image).digest("hex");
  if (image.length !== current.size || digest !== current.sha256) {
    throw new FirmwareCheckError("release image", `${current.imageKey} is ${image.length} bytes with SHA-256 ${digest}; the manifest says ${current.size} bytes, ${current.sha256}`);
  }
  const report = verifyImage(image, allowedKeyNames(channel));
  if (report.image.appDescriptor?.secureVersion !== current.secureVersion) {
    throw new FirmwareCheckError("release image", `the image's secure_version differs from the manifest's ${current.secureVersion}`);
  }
  return current;
}
