/**
 * What the engine-free reviewer reads: the offline synth's JSON
 * (`npm run synth -- --json`: `{"stack", "resources": [{"type", "name",
 * "parent", "urn", "inputs"}], "outputs"}`) and the digest `pulumi preview
 * --json` prints (`{"config", "steps": [{"op", "urn", "newState": {"type",
 * "urn", "parent", "inputs", "dependencies", "propertyDependencies", ...}}],
 * "diagnostics", "changeSummary"}`; the shape of `PreviewDigest` in
 * pulumi/pkg/display, with `newState` an `apitype.ResourceV3`).
 *
 * Not part of the pack's import graph (`index.ts` never loads it): the pack
 * itself only sees what the engine hands it.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { stripNamespace } from "../../program/stack-config";
import { ReviewInputError, type ReviewResource } from "../review";
import { isRecord } from "./values";

export interface ReviewInput {
  format: "synth" | "preview";
  /** The stack the plan is for, when the document says. */
  stack?: string;
  resources: ReviewResource[];
  /** `clawstack:*` config the document carries (prefix stripped); only previews carry it. */
  config: Record<string, unknown>;
}

/**
 * Preview steps whose `newState` is what the stack will hold after the update.
 * Deletions, reads and refreshes are left out: the engine does not analyze them
 * either.
 */
const REVIEWED_OPS = new Set(["create", "update", "same", "replace", "create-replacement", "import", "import-replacement"]);

/** Engine bookkeeping resources with no inputs of interest to the pack. */
function isEngineResource(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function nameFromUrn(urn: string): string {
  const at = urn.lastIndexOf("::");
  return at === -1 ? urn : urn.slice(at + 2);
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    throw new ReviewInputError(`\`${where}\` must be a list of URNs; got ${describe(value)}`);
  }
  return value as string[];
}

function propertyDependencies(value: unknown, where: string): Record<string, string[]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new ReviewInputError(`\`${where}\` must map property names to lists of URNs; got ${describe(value)}`);
  const out: Record<string, string[]> = {};
  for (const [key, deps] of Object.entries(value)) out[key] = stringList(deps, `${where}.${key}`) ?? [];
  return out;
}

function synthResources(document: Record<string, unknown>): ReviewInput {
  const list = document.resources;
  if (!Array.isArray(list)) throw new ReviewInputError(`\`resources\` must be a list; got ${describe(list)}`);
  const resources = list.map((entry, index): ReviewResource => {
    const where = `resources[${index}]`;
    if (!isRecord(entry)) throw new ReviewInputError(`\`${where}\` must be an object {type, name, parent, inputs}; got ${describe(entry)}`);
    if (typeof entry.type !== "string" || entry.type.length === 0) {
      throw new ReviewInputError(`\`${where}.type\` must be a Pulumi type token such as "aws:iam/role:Role"; got ${describe(entry.type)}`);
    }
    if (typeof entry.name !== "string" || entry.name.length === 0) {
      throw new ReviewInputError(`\`${where}.name\` must be the resource's logical name; got ${describe(entry.name)}`);
    }
    if (entry.inputs !== undefined && !isRecord(entry.inputs)) {
      throw new ReviewInputError(`\`${where}.inputs\` must be an object of input properties; got ${describe(entry.inputs)}`);
    }
    for (const key of ["parent", "urn"] as const) {
      if (entry[key] !== undefined && typeof entry[key] !== "string") {
        throw new ReviewInputError(`\`${where}.${key}\` must be a URN string; got ${describe(entry[key])}`);
      }
    }
    const resource: ReviewResource = { type: entry.type, name: entry.name, inputs: (entry.inputs as Record<string, unknown> | undefined) ?? {} };
    if (typeof entry.urn === "string") resource.urn = entry.urn;
    if (typeof entry.parent === "string") resource.parent = entry.parent;
    const dependencies = stringList(entry.dependencies, `${where}.dependencies`);
    if (dependencies) resource.dependencies = dependencies;
    const byProperty = propertyDependencies(entry.propertyDependencies, `${where}.propertyDependencies`);
    if (byProperty) resource.propertyDependencies = byProperty;
    return resource;
  });
  const input: ReviewInput = { format: "synth", resources, config: {} };
  if (typeof document.stack === "string") input.stack = document.stack;
  return input;
}

/**
 * `clawstack:*` keys of a preview's `config` map. The engine prints every value
 * as a string: lists and maps as JSON text, secrets as "[secret]".
 */
export function configFromPreview(config: unknown): Record<string, unknown> {
  if (config === undefined || config === null) return {};
  if (!isRecord(config)) throw new ReviewInputError(`\`config\` must be a map of config keys to values; got ${describe(config)}`);
  return stripNamespace(config, (value) => {
    if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  });
}

function previewResources(document: Record<string, unknown>): ReviewInput {
  const steps = document.steps;
  if (!Array.isArray(steps)) throw new ReviewInputError(`\`steps\` must be a list; got ${describe(steps)}`);
  const resources: ReviewResource[] = [];
  let stack: string | undefined;
  steps.forEach((step, index) => {
    const where = `steps[${index}]`;
    if (!isRecord(step)) throw new ReviewInputError(`\`${where}\` must be an object {op, urn, newState}; got ${describe(step)}`);
    if (typeof step.op !== "string") throw new ReviewInputError(`\`${where}.op\` must be a step operation such as "create"; got ${describe(step.op)}`);
    if (typeof step.urn === "string" && stack === undefined) stack = /^urn:pulumi:([^:]+)::/.exec(step.urn)?.[1];
    if (!REVIEWED_OPS.has(step.op)) return;
    const state = step.newState;
    if (!isRecord(state)) {
      throw new ReviewInputError(`\`${where}.newState\` must be the planned resource state for a "${step.op}" step; got ${describe(state)}`);
    }
    const urn = typeof state.urn === "string" ? state.urn : step.urn;
    if (typeof urn !== "string") throw new ReviewInputError(`\`${where}.newState.urn\` must be the resource's URN; got ${describe(urn)}`);
    if (typeof state.type !== "string" || state.type.length === 0) {
      throw new ReviewInputError(`\`${where}.newState.type\` must be a Pulumi type token; got ${describe(state.type)}`);
    }
    if (isEngineResource(state.type)) return;
    if (state.inputs !== undefined && !isRecord(state.inputs)) {
      throw new ReviewInputError(`\`${where}.newState.inputs\` must be an object of input properties; got ${describe(state.inputs)}`);
    }
    const resource: ReviewResource = {
      type: state.type,
      name: nameFromUrn(urn),
      urn,
      inputs: (state.inputs as Record<string, unknown> | undefined) ?? {},
    };
    if (typeof state.parent === "string") resource.parent = state.parent;
    const dependencies = stringList(state.dependencies, `${where}.newState.dependencies`);
    if (dependencies) resource.dependencies = dependencies;
    const byProperty = propertyDependencies(state.propertyDependencies, `${where}.newState.propertyDependencies`);
    if (byProperty) resource.propertyDependencies = byProperty;
    resources.push(resource);
  });
  const input: ReviewInput = { format: "preview", resources, config: configFromPreview(document.config) };
  if (stack !== undefined) input.stack = stack;
  return input;
}

/** Parses either format; `source` names the input in messages. */
export function parseReviewDocument(text: string, source: string): ReviewInput {
  let document: unknown;
  try {
    document = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ReviewInputError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(document)) throw new ReviewInputError(`${source} must hold a JSON object; got ${describe(document)}`);
  if ("steps" in document) return previewResources(document);
  if ("resources" in document) return synthResources(document);
  throw new ReviewInputError(
    `${source} must be the synth JSON (\`{"resources": [...]}\`, from \`npm run synth -- --json\`) or \`pulumi preview --json\` output (\`{"steps": [...]}\`); it has neither \`resources\` nor \`steps\``,
  );
}

export function readReviewFile(path: string): ReviewInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ReviewInputError(`cannot read \`--resources\` file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseReviewDocument(text, path);
}

/** `clawstack:*` keys (prefix stripped) of a Pulumi stack config file (`Pulumi.<stack>.yaml`). */
export function readStackConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ReviewInputError(`cannot read \`--config\` file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text) as unknown;
  } catch (error) {
    throw new ReviewInputError(`\`--config\` file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  const config = isRecord(document) ? document.config : undefined;
  if (!isRecord(config)) throw new ReviewInputError(`\`--config\` file ${path} must have a \`config\` map with \`clawstack:*\` keys`);
  return stripNamespace(config);
}
