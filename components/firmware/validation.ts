import { ConfigError } from "../../program/errors.js";

/** Shared checks for the firmware bucket components; each throws `ConfigError` naming the field. */

export function checkRetentionDays(value: unknown, max: number = 36_500): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(
      "retentionDays",
      `\`retentionDays\` must be a whole number of days from 1 to ${max}; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** S3 and Spaces bucket names: 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit. */
export function checkBucketName(key: string, value: unknown): string {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) || value.includes("..")) {
    throw new ConfigError(
      key,
      `\`${key}\` must be 3 to 63 characters of lowercase letters, digits, \`.\` and \`-\`, starting and ending with a letter or digit; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
