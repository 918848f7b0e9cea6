import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./stack-config.js";

/**
 * Pulumi hands a program every config value as a string: structured values
 * (maps, lists) as JSON, scalars as their text. Turns one back into the value
 * the stack file wrote, the way the offline synth sees it when it reads the
 * YAML itself: JSON maps and lists, `true`/`false`, and whole numbers are
 * decoded; everything else (`fra1`, `24.15.0`, `1.0`) stays a string.
 */
export function decodeConfigValue(text: string): unknown {
  if (/^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (text === "true") return true;
  if (text === "false") return false;
  if (/^-?(0|[1-9]\d{0,14})$/.test(text)) return Number(text);
  return text;
}

/**
 * The running stack's `clawstack:*` config, prefix stripped and values
 * decoded, read through `pulumi.Config`. Secret values (`pulumi config set
 * --secret`) arrive decrypted here; the stack kind marks them secret again
 * before any resource sees them.
 */
export function readPulumiConfig(): Record<string, unknown> {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const text = config.get(key);
    if (text !== undefined) raw[key] = decodeConfigValue(text);
  }
  return raw;
}
