/**
 * The API's two entry points for a stack's config, and the one place where a
 * refused value (`ConfigError`, naming the config key) becomes an answer:
 *
 * - a create request (`POST /v1/instances`) is parsed once by the host
 *   kind's own parser (`program/host-config.ts`, the one `pulumi up` and the
 *   offline synth use); a refusal is a 400 naming the request field
 *   (`body.region`, `body.options.gatewayCidrs[0]`); the parsed, normalized
 *   config is what the API stores;
 * - a job parses the stored config (with the registration its runner adds)
 *   once, when its operation starts (`AutomationEngine`); a refusal is an
 *   `invalid_config` engine error naming the key. The offline plan and the
 *   Pulumi program then run that value without parsing it again.
 */
import { ConfigError } from "../../core/errors";
import type { HostConfig } from "../../core/host-config";
import { parseHostConfig } from "../../program/host-config";
import { findStackKind } from "../../program/kinds";
import type { SelectedStack } from "../../program/run-stack";
import { HttpError } from "../http/errors";
import { EngineError } from "./types";

/** Request fields that are stack config keys at the top level of a create request; the rest sit in `options`. */
export const REQUEST_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(["cloud", "region", "size", "name"]);

/** The create request's field for a config key: `region` → `body.region`, `gatewayCidrs[0]` → `body.options.gatewayCidrs[0]`. */
export function requestFieldOf(key: string): string {
  if (key === "") return "body.options";
  const root = key.split(/[.[]/)[0] ?? key;
  return REQUEST_TOP_LEVEL_KEYS.has(root) ? `body.${key}` : `body.options.${key}`;
}

/** A refused config value as the 400 of a create request. */
export function httpErrorOf(error: ConfigError): HttpError {
  return new HttpError(400, error.message, requestFieldOf(error.key));
}

/** A refused config value as a job's engine error. */
export function engineErrorOf(error: ConfigError): EngineError {
  return new EngineError("invalid_config", error.message, error.key);
}

/** Parses a create request's stack config (top-level fields and `options` merged) once; refusals are 400s. */
export function parseRequestHostConfig(config: Record<string, unknown>): HostConfig {
  try {
    return parseHostConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) throw httpErrorOf(error);
    throw error;
  }
}

/** Parses a job's stored config once with its stack kind's parser; refusals are `invalid_config`. */
export function selectJobStack(kindName: string, config: Record<string, unknown>): SelectedStack {
  const kind = findStackKind(kindName);
  if (!kind) throw new EngineError("invalid_config", `unknown stack kind \`${kindName}\``, "kind");
  try {
    return { kind, config: kind.parse(config) };
  } catch (error) {
    if (error instanceof ConfigError) throw engineErrorOf(error);
    throw error;
  }
}
