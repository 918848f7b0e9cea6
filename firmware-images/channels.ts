/**
 * Release channels (`firmware-images/channels/<channel>.yaml`): which chip a
 * channel ships to and which signing keys (Secure Boot V2 key digests) may
 * sign its images and manifests. An empty key list refuses every publish.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError } from "../core/errors";
import { CHIP_IDS } from "./esp-image";

export const CHANNEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const channelSchema = z.strictObject({
  channel: z.string().regex(CHANNEL_NAME, "lowercase letters, digits and dashes, 1-63 characters"),
  chip: z.enum(Object.keys(CHIP_IDS) as [string, ...string[]]),
  description: z.string().optional(),
  /** SHA-256 key digests (as burned into eFuse), lowercase hex. */
  signingKeyDigests: z.array(z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters")).max(3),
});
export type ChannelDefinition = z.infer<typeof channelSchema>;

export const DEFAULT_CHANNELS_DIR = join(__dirname, "channels");

/** Parses one channel definition; throws `ConfigError` naming the field. */
export function parseChannel(text: string, source: string): ChannelDefinition {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ConfigError(source, `\`${source}\` is not valid YAML: ${(error as Error).message}`);
  }
  const result = channelSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || "(document)";
    const given = issue.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], raw);
    throw new ConfigError(field, `\`${field}\` in ${source}: ${issue.message}; given ${JSON.stringify(given) ?? "nothing"}`);
  }
  return result.data;
}

export function loadChannel(name: string, directory: string = DEFAULT_CHANNELS_DIR): ChannelDefinition {
  if (!CHANNEL_NAME.test(name)) {
    throw new ConfigError("channel", `\`channel\` must be lowercase letters, digits and dashes; given ${JSON.stringify(name)}`);
  }
  const path = join(directory, `${name}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError("channel", `\`channel\` ${name} has no definition at ${path}`);
  }
  const channel = parseChannel(text, path);
  if (channel.channel !== name) {
    throw new ConfigError("channel", `\`channel\` in ${path} must match the file name (${name}); given ${channel.channel}`);
  }
  return channel;
}

export type TrustResult = "added" | "already trusted";

/**
 * Adds a key digest to a channel's `signingKeyDigests` (at most three, as in
 * eFuse), keeping the file's comments. The file is validated before and after
 * and replaced atomically, so a refused change leaves it as it was.
 */
export function trustKeyDigest(name: string, digest: string, directory: string = DEFAULT_CHANNELS_DIR): TrustResult {
  const channel = loadChannel(name, directory);
  if (channel.signingKeyDigests.includes(digest)) return "already trusted";
  if (channel.signingKeyDigests.length >= 3) {
    throw new ConfigError(
      "signingKeyDigests",
      `\`signingKeyDigests\` of channel ${name} already holds 3 digests (the eFuse maximum); remove a revoked one first`,
    );
  }
  const path = join(directory, `${name}.yaml`);
  const document = parseDocument(readFileSync(path, "utf8"));
  document.set("signingKeyDigests", [...channel.signingKeyDigests, digest]);
  const text = document.toString();
  parseChannel(text, path);
  const temporary = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(temporary, text, { flag: "wx", mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return "added";
}
