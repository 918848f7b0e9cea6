/**
 * Joining split resources (an S3 bucket and its versioning, encryption,
 * public-access-block, object-lock and policy resources; a disk and its
 * snapshot-policy attachment) in stack validations. A split resource belongs
 * to a target when, in this order:
 * 1. its property dependencies (or dependencies) name the target: the engine
 *    and `pulumi preview --json` record them;
 * 2. its reference property (`bucket`, `disk`) equals the target's name or id;
 * 3. its reference property is not a known string (an id not computed yet),
 *    it has the same parent component as the target, and the target is the
 *    only one of its kind under that parent (the offline synth records parents
 *    but no ids). A known reference that names no target in the plan (another
 *    disk, an existing bucket) joins nothing.
 * A split resource that joins nothing joins no target: the target then lacks
 * it, which fails closed.
 */
import type { PolicyResource } from "@pulumi/policy";

function readSafely(resource: PolicyResource, key: string): unknown {
  try {
    return resource.props[key];
  } catch {
    return undefined; // not known yet: the other join strategies still apply
  }
}

function parentUrn(resource: PolicyResource): string {
  return resource.parent?.urn ?? "";
}

/**
 * For each target, the split resources of `splitTypes` that belong to it.
 * `targetKeys` are the target properties a reference may equal (`bucket`, `name`, `id`).
 */
export function joinSplitResources(
  resources: readonly PolicyResource[],
  targetTypes: readonly string[],
  splitTypes: readonly string[],
  referenceKey: string,
  targetKeys: readonly string[],
): Map<PolicyResource, PolicyResource[]> {
  // Indexes built once, so joining is linear in the number of resources.
  const targets = resources.filter((resource) => targetTypes.includes(resource.type));
  const joined = new Map<PolicyResource, PolicyResource[]>(targets.map((target) => [target, []]));
  const byUrn = new Map<string, PolicyResource>();
  const byKeyValue = new Map<string, PolicyResource>();
  const perParent = new Map<string, PolicyResource[]>();
  for (const target of targets) {
    byUrn.set(target.urn, target);
    for (const key of targetKeys) {
      const value = readSafely(target, key);
      // The first target wins, as a linear search in resource order would.
      if (typeof value === "string" && value.length > 0 && !byKeyValue.has(value)) byKeyValue.set(value, target);
    }
    const siblings = perParent.get(parentUrn(target)) ?? [];
    siblings.push(target);
    perParent.set(parentUrn(target), siblings);
  }

  for (const split of resources) {
    if (!splitTypes.includes(split.type)) continue;
    const dependencies = [...(split.propertyDependencies?.[referenceKey] ?? []), ...(split.dependencies ?? [])];
    let owner: PolicyResource | undefined;
    for (const dependency of dependencies) {
      owner = byUrn.get(dependency.urn);
      if (owner) break;
    }
    const reference = readSafely(split, referenceKey);
    const knownReference = typeof reference === "string" && reference.length > 0;
    if (!owner && knownReference) owner = byKeyValue.get(reference);
    if (!owner && !knownReference) {
      const siblings = perParent.get(parentUrn(split)) ?? [];
      if (siblings.length === 1) owner = siblings[0];
    }
    if (owner) joined.get(owner)!.push(split);
  }
  return joined;
}
