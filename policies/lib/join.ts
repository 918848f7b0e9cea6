/**
 * Joining split resources (an S3 bucket and its versioning, encryption,
 * public-access-block, object-lock and policy resources; a disk and its
 * snapshot-policy attachment) in stack validations. A split resource belongs
 * to a target when, in this order:
 * 1. its property dependencies (or dependencies) name the target: the engine
 *    and `pulumi preview --json` record them;
 * 2. its reference property (`bucket`, `disk`) equals the target's name or id;
 * 3. it has the same parent component as the target, and the target is the
 *    only one of its kind under that parent (the offline synth records parents
 *    but no ids).
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
  const targets = resources.filter((resource) => targetTypes.includes(resource.type));
  const joined = new Map<PolicyResource, PolicyResource[]>(targets.map((target) => [target, []]));
  const targetsPerParent = new Map<string, number>();
  for (const target of targets) targetsPerParent.set(parentUrn(target), (targetsPerParent.get(parentUrn(target)) ?? 0) + 1);

  for (const split of resources) {
    if (!splitTypes.includes(split.type)) continue;
    const dependencies = [...(split.propertyDependencies?.[referenceKey] ?? []), ...(split.dependencies ?? [])];
    let owner = targets.find((target) => dependencies.some((dependency) => dependency.urn === target.urn));
    if (!owner) {
      const reference = readSafely(split, referenceKey);
      if (typeof reference === "string" && reference.length > 0) {
        owner = targets.find((target) => targetKeys.some((key) => readSafely(target, key) === reference));
      }
    }
    if (!owner) {
      const siblings = targets.filter((target) => parentUrn(target) === parentUrn(split));
      if (siblings.length === 1 && targetsPerParent.get(parentUrn(split)) === 1) owner = siblings[0];
    }
    if (owner) joined.get(owner)!.push(split);
  }
  return joined;
}
