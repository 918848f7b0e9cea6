/**
 * The IDs of the rules in the pack, filled in by `policies.ts` once the list is
 * built. The exemptions rule reads it at validation time, which avoids an
 * import cycle (the list imports that rule).
 */
let registered: readonly string[] = [];

export function registerPolicyIds(ids: readonly string[]): void {
  registered = [...ids];
}

export function registeredPolicyIds(): readonly string[] {
  return registered;
}
