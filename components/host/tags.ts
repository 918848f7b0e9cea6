/**
 * The marker on everything ClawStack creates: the provisioner's IAM scoping
 * (tag conditions on `ManagedBy`) and the policy pack both rely on it.
 */
export const MANAGED_BY = { key: "ManagedBy", value: "claw-cloud" } as const;

/** GCP label keys and values are lowercase only, so the marker is spelled `managed-by: claw-cloud` there. */
export const GCP_MANAGED_BY_LABEL = { key: "managed-by", value: "claw-cloud" } as const;

/** AWS tags: the user's tags, then `Name` and `ManagedBy` (which cannot be overridden). */
export function awsTags(name: string, extra: Record<string, string>): Record<string, string> {
  return { ...extra, Name: name, [MANAGED_BY.key]: MANAGED_BY.value };
}

/** GCP labels: the user's (already lowercase) labels, then `managed-by`. */
export function gcpLabels(extra: Record<string, string>): Record<string, string> {
  return { ...extra, [GCP_MANAGED_BY_LABEL.key]: GCP_MANAGED_BY_LABEL.value };
}

/** DigitalOcean tags are plain strings: `ManagedBy:claw-cloud`, then `key:value` per user tag. */
export function digitalOceanTags(extra: Record<string, string>): string[] {
  const tags = Object.entries(extra).map(([key, value]) => (value ? `${key}:${value}` : key));
  return [`${MANAGED_BY.key}:${MANAGED_BY.value}`, ...tags];
}
