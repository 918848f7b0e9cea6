import { awsAccessKind, gcpAccessKind } from "../components/access/kinds.js";
import { firmwareKind } from "../components/firmware/kind.js";
import type { StackKind } from "../core/stack-kind.js";
import { hostKind } from "./host-program.js";

/**
 * The kinds of stack this one Pulumi project can stand up, chosen per stack by
 * the config key `clawstack:kind` (default `host`). Each kind owns its config
 * schema and its program; `index.ts`, the offline synth and the provisioning
 * API all go through this registry, so there is one code path for each kind.
 * The contract, `StackKind`, lives in `core/stack-kind.ts`.
 */

// Each kind registers itself here; keep this list sorted by kind.
// `any`: the registry holds kinds with different config types; each kind's own
// parse/run pair agrees on its type, and callers only pass parse's result to run.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
const KINDS: StackKind<any>[] = [
  awsAccessKind,
  firmwareKind,
  gcpAccessKind,
  hostKind,
];

export const DEFAULT_KIND = "host";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment at KINDS
export function stackKinds(): readonly StackKind<any>[] {
  return KINDS;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment at KINDS
export function findStackKind(kind: string): StackKind<any> | undefined {
  return KINDS.find((candidate) => candidate.kind === kind);
}
