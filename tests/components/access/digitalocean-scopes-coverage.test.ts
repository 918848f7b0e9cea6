import { describe, expect, it } from "vitest";
import { synthConfig } from "../../../program/synth.js";
import {
  DIGITALOCEAN_REQUIRED_SCOPES,
  DIGITALOCEAN_SCOPES_BY_TYPE,
  DIGITALOCEAN_SNAPSHOT_JOB_SCOPES,
} from "../../../runtime/digitalocean-token-check.js";

/**
 * The DigitalOcean scope list against what ClawStack really uses: the resource
 * types the DigitalOcean host registers (synthesized under mocks with SSH
 * access and snapshots on) must be exactly the rows of the per-type table, and
 * the scopes the token check asks for must be exactly the table's scopes plus
 * the snapshot job's: nothing missing, nothing extra.
 */
describe("DigitalOcean scopes ↔ DigitalOceanHost + snapshot job", () => {
  it("has a row for exactly the types the host registers", async () => {
    const result = await synthConfig("coverage-do", {
      kind: "host",
      cloud: "digitalocean",
      region: "nyc3",
      gatewayCidrs: ["203.0.113.0/24"],
      sshAccess: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx6m8x0bXyQpI4Qm9m7Xq3c2yC1j1m2QyH4bqk3R5kA ops@example", cidrs: ["192.0.2.0/24"] },
      versions: { openclaw: "2026.1.29", node: "24.15.0" },
      snapshots: { enabled: true, frequency: "daily", hourUtc: 4, retain: 7 },
    });
    const used = [...new Set(result.resources.map((resource) => resource.type).filter((type) => type.startsWith("digitalocean:")))].sort();
    expect(used).toContain("digitalocean:index/droplet:Droplet");
    expect(used).toEqual(Object.keys(DIGITALOCEAN_SCOPES_BY_TYPE).sort());
  });

  it("asks the token for exactly the scopes the host and the snapshot job use", () => {
    const used = new Set([...Object.values(DIGITALOCEAN_SCOPES_BY_TYPE).flat(), ...DIGITALOCEAN_SNAPSHOT_JOB_SCOPES]);
    const checked = new Set(DIGITALOCEAN_REQUIRED_SCOPES.map((requirement) => requirement.scope));
    expect([...used].filter((scope) => !checked.has(scope))).toEqual([]);
    expect([...checked].filter((scope) => !used.has(scope))).toEqual([]);
    expect(checked.size).toBe(DIGITALOCEAN_REQUIRED_SCOPES.length); // no scope probed twice
  });
});
