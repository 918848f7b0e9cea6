import { gzipSync } from "node:zlib";
import { ConfigError } from "../core/errors.js";
import type { Cloud, EncodedUserData } from "./types.js";

/**
 * Each cloud's user-data limit, in bytes, as the cloud measures it:
 * DigitalOcean 64 KiB of user-data text; AWS 16 KiB raw (before the API's own
 * base64), so the gzip bytes when compressed; GCP 256 KiB per metadata value,
 * here the base64 text.
 */
export const USER_DATA_LIMITS: Record<Cloud, number> = {
  digitalocean: 64 * 1024,
  aws: 16 * 1024,
  gcp: 256 * 1024,
};

/** gzip at the highest level with a zero mtime, so the same config always encodes to the same bytes. */
function gzip(text: string): Buffer {
  return gzipSync(Buffer.from(text, "utf8"), { level: 9 });
}

/**
 * Encodes a rendered cloud-config the way `cloud`'s API takes it, and refuses
 * (with the limit and the size given) anything over the cloud's budget.
 */
export function encodeUserData(cloud: Cloud, cloudConfig: string, options: { check: boolean } = { check: true }): EncodedUserData {
  const plainBytes = Buffer.byteLength(cloudConfig, "utf8");
  let encoded: EncodedUserData;
  switch (cloud) {
    case "digitalocean":
      encoded = { encoding: "plain", userData: cloudConfig, bytes: plainBytes };
      break;
    case "aws":
      if (plainBytes <= USER_DATA_LIMITS.aws) {
        encoded = { encoding: "plain", userData: cloudConfig, bytes: plainBytes };
      } else {
        const compressed = gzip(cloudConfig);
        encoded = { encoding: "gzip-base64", userDataBase64: compressed.toString("base64"), bytes: compressed.length };
      }
      break;
    case "gcp": {
      const value = gzip(cloudConfig).toString("base64");
      encoded = {
        encoding: "gce-base64",
        metadata: { "user-data": value, "user-data-encoding": "base64" },
        bytes: Buffer.byteLength(value, "utf8"),
      };
      break;
    }
    default: {
      const unknown: never = cloud;
      throw new ConfigError("cloud", `\`cloud\` must be one of digitalocean, aws, gcp; got ${JSON.stringify(unknown)}`);
    }
  }
  if (options.check && encoded.bytes > USER_DATA_LIMITS[cloud]) {
    throw new ConfigError(
      "userData",
      `\`userData\` for ${cloud} must be at most ${USER_DATA_LIMITS[cloud]} bytes after encoding (${encoded.encoding}); got ${encoded.bytes} bytes`,
    );
  }
  return encoded;
}
