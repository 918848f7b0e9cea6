import { describe, expect, it } from "vitest";
import { synthConfig } from "../../../program/synth.js";
import { AWS_PASSABLE_ROLES, AWS_PROVISIONER_PERMISSIONS } from "../../../components/access/aws-permissions.js";
import { allowedActions, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import { GCP_PROVISIONER_PERMISSIONS } from "../../../components/access/gcp-permissions.js";

/**
 * The permission tables beside the access components against what the host and
 * snapshot components really register: the host stack kind (host + snapshot
 * schedule) is synthesized under Pulumi mocks with every optional resource
 * switched on (SSH key, gateway token, snapshots), and the set of cloud
 * resource types it registers must equal the table's rows. A component that
 * starts using a new type fails here until the table (and so the role) grants
 * it; a table row no component uses (an action the role grants for nothing)
 * fails here too.
 */

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx6m8x0bXyQpI4Qm9m7Xq3c2yC1j1m2QyH4bqk3R5kA ops@example";

const COMMON = {
  kind: "host",
  gatewayCidrs: ["203.0.113.0/24"],
  clawchatClientCidrs: ["198.51.100.0/24"],
  sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.0/24"] },
  gatewayToken: "a-gateway-token-only-for-this-offline-synth-0123456789",
  versions: { openclaw: "2026.1.29", node: "24.15.0" },
  snapshots: { enabled: true, frequency: "daily", hourUtc: 4, retain: 7 },
};

/** Cloud resource types a synthesized stack registers (components and providers left out). */
async function registeredTypes(stack: string, config: Record<string, unknown>, prefix: string): Promise<string[]> {
  const result = await synthConfig(stack, config);
  return [...new Set(result.resources.map((resource) => resource.type).filter((type) => type.startsWith(prefix)))].sort();
}

/** Both directions of the comparison, as sentences a failing test prints. */
function tableMismatches(used: readonly string[], table: readonly string[]): string[] {
  const problems: string[] = [];
  for (const type of used) if (!table.includes(type)) problems.push(`components register ${type}, which the permission table does not grant`);
  for (const type of table) if (!used.includes(type)) problems.push(`the permission table grants actions for ${type}, which no component registers`);
  return problems;
}

describe("tableMismatches", () => {
  it("reports a type a component uses but the table lacks, and a row no component uses", () => {
    expect(tableMismatches(["aws:a", "aws:b"], ["aws:a", "aws:c"])).toEqual([
      "components register aws:b, which the permission table does not grant",
      "the permission table grants actions for aws:c, which no component registers",
    ]);
    expect(tableMismatches(["aws:a"], ["aws:a"])).toEqual([]);
  });
});

describe("AWS provisioner permissions ↔ AwsHost + AwsStateSnapshots", () => {
  it("grants exactly the resource types the components register", async () => {
    const used = await registeredTypes("coverage-aws", { ...COMMON, cloud: "aws", region: "eu-west-1" }, "aws:");
    // Sanity: the synth really ran the components (not an empty program).
    expect(used).toContain("aws:ec2/instance:Instance");
    expect(used).toContain("aws:dlm/lifecyclePolicy:LifecyclePolicy");
    expect(tableMismatches(used, Object.keys(AWS_PROVISIONER_PERMISSIONS))).toEqual([]);
  });

  it("drops a type's actions from the rendered policy when its row is removed, so the table is the only source", () => {
    const full = allowedActions(renderPermissionsPolicy({ partition: "aws", accountId: "123456789012", imageOwners: ["amazon"] }));
    const { ["aws:ec2/keyPair:KeyPair"]: _removed, ...withoutKeyPair } = AWS_PROVISIONER_PERMISSIONS;
    const reduced = allowedActions(
      renderPermissionsPolicy({ partition: "aws", accountId: "123456789012", imageOwners: ["amazon"], table: withoutKeyPair }),
    );
    expect(full).toContain("ec2:ImportKeyPair");
    expect(reduced).not.toContain("ec2:ImportKeyPair");
    expect(reduced).not.toContain("ec2:DeleteKeyPair");
  });

  it("passes roles only for types in the table", () => {
    for (const role of AWS_PASSABLE_ROLES) expect(Object.keys(AWS_PROVISIONER_PERMISSIONS)).toContain(role.usedBy);
  });
});

describe("GCP provisioner permissions ↔ GcpHost + GcpStateSnapshots", () => {
  it("grants exactly the resource types the components register", async () => {
    const used = await registeredTypes(
      "coverage-gcp",
      { ...COMMON, cloud: "gcp", region: "europe-west1", gcpProject: "example-openclaw-project" },
      "gcp:",
    );
    expect(used).toContain("gcp:compute/instance:Instance");
    expect(used).toContain("gcp:compute/resourcePolicy:ResourcePolicy");
    expect(tableMismatches(used, Object.keys(GCP_PROVISIONER_PERMISSIONS))).toEqual([]);
  });
});
