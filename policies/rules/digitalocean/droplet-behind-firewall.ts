import type { PolicyResource } from "@pulumi/policy";
import { stackRule } from "../../lib/rule";
import { asList } from "../../lib/values";

const DROPLET = "digitalocean:index/droplet:Droplet";
const FIREWALL = "digitalocean:index/firewall:Firewall";

function readSafely(resource: PolicyResource, key: string): unknown {
  try {
    return resource.props[key];
  } catch {
    return undefined; // not known yet: the other ways a firewall can select the droplet still apply
  }
}

/**
 * Whether `firewall` selects `droplet`, in this order:
 * 1. the firewall's `dropletIds` depend on the droplet (the engine and
 *    `pulumi preview --json` record property dependencies);
 * 2. one of the firewall's `tags` is one of the droplet's tags;
 * 3. the firewall lists droplet IDs and sits under the same parent component
 *    as the droplet, which is the only droplet there (the offline synth
 *    records parents but neither IDs nor dependencies).
 */
function selects(firewall: PolicyResource, droplet: PolicyResource, dropletsUnderParent: number): boolean {
  const dependencies = [...(firewall.propertyDependencies?.dropletIds ?? []), ...(firewall.propertyDependencies?.tags ?? [])];
  if (dependencies.some((dependency) => dependency.urn === droplet.urn)) return true;
  const dropletTags = new Set(asList(readSafely(droplet, "tags")).map(String));
  if (asList(readSafely(firewall, "tags")).some((tag) => dropletTags.has(String(tag)))) return true;
  const sameParent = (firewall.parent?.urn ?? "") === (droplet.parent?.urn ?? "") && firewall.parent !== undefined;
  let ids: unknown[] = [];
  try {
    ids = asList(firewall.props.dropletIds);
  } catch {
    ids = ["(not known yet)"];
  }
  return sameParent && dropletsUnderParent === 1 && ids.length > 0;
}

/**
 * Every droplet is selected by a Cloud Firewall (by droplet ID or by tag).
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every droplet is selected by a Cloud Firewall (by droplet ID or by tag).",
    why: "A droplet no Cloud Firewall selects accepts traffic on every port from the whole Internet: whatever listens on it (SSH, a debug port, the gateway bound by mistake) is exposed, and the firewall rules of the pack check nothing.",
    fix: "Add the droplet's ID to a `digitalocean.Firewall`'s `dropletIds`, or give it a tag the firewall lists in `tags` (the host component does the former).",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    const firewalls = args.resources.filter((resource) => resource.type === FIREWALL);
    const droplets = args.resources.filter((resource) => resource.type === DROPLET);
    const perParent = new Map<string, number>();
    for (const droplet of droplets) {
      const parent = droplet.parent?.urn ?? "";
      perParent.set(parent, (perParent.get(parent) ?? 0) + 1);
    }
    for (const droplet of droplets) {
      guard(droplet.urn, () => {
        const count = perParent.get(droplet.parent?.urn ?? "") ?? 0;
        if (!firewalls.some((firewall) => selects(firewall, droplet, count))) {
          report("no Cloud Firewall selects this droplet (by `dropletIds` or `tags`): every port is open to the Internet", droplet.urn);
        }
      });
    }
  },
);
