import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../program/errors.js";
import { encodeUserData, USER_DATA_LIMITS } from "./encode.js";
import { renderCloudConfig } from "./render.js";
import type { ClawChatBundleInput, HostBootInput } from "./types.js";

/** Where `npm run clawchat:build` writes the self-contained server bundle. */
export const CLAWCHAT_BUNDLE_PATH = resolve(__dirname, "../clawchat/dist/clawchat.js");

/**
 * Reads the built ClawChat bundle (for `chooseClawChatBundle`). Fails with a
 * clear message when it has not been built yet.
 */
export function readClawChatBundle(path: string = CLAWCHAT_BUNDLE_PATH): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      "clawchatBundle",
      `\`clawchatBundle\` must be the built bundle at ${path} (run \`npm run clawchat:build\`); got an unreadable file: ${reason}`,
    );
  }
}

/**
 * Picks how the ClawChat bundle reaches `base.cloud`'s host: embedded in
 * user-data when the whole encoded user-data still fits the cloud's budget,
 * otherwise fetched from `fetchUrl` and checked against the bundle's SHA-256
 * (pinned in user-data). Without a URL, a bundle that does not fit is refused.
 */
export function chooseClawChatBundle(base: HostBootInput, bundle: Buffer, fetchUrl?: string): ClawChatBundleInput {
  const embedded: ClawChatBundleInput = { kind: "embedded", bundle };
  const encoded = encodeUserData(base.cloud, renderCloudConfig({ ...base, clawchatBundle: embedded }), { check: false });
  if (encoded.bytes <= USER_DATA_LIMITS[base.cloud]) return embedded;
  if (fetchUrl === undefined) {
    throw new ConfigError(
      "clawchatBundleUrl",
      `\`clawchatBundleUrl\` must be an https:// URL to fetch the ClawChat bundle from on ${base.cloud}: embedded, its user-data would be ${encoded.bytes} bytes, over the ${USER_DATA_LIMITS[base.cloud]}-byte limit; got no URL`,
    );
  }
  return { kind: "fetch", url: fetchUrl, sha256: createHash("sha256").update(bundle).digest("hex") };
}
