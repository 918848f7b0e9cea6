/**
 * A Pulumi program of its own that stands up an OpenClaw host with ClawStack's
 * `AwsHost` (installed as the `clawstack` dependency, built by `npm run build`
 * in the ClawStack repository). The host's args are wired from this program's
 * resources: the gateway admits only the team's VPN box (its public address,
 * known once it exists) and the volumes use this program's KMS key.
 */
import * as pulumi from "@pulumi/pulumi";
import * as ec2 from "@pulumi/aws/ec2";
import * as kms from "@pulumi/aws/kms";
import { AwsHost, AwsStateSnapshots, stateSnapshotTag } from "clawstack/components";

export = async () => {
  const key = new kms.Key("openclaw", { description: "OpenClaw host volumes", enableKeyRotation: true });

  // Stands in for whatever the team reaches the gateway from (a WireGuard box here).
  const vpn = new ec2.Instance("vpn", {
    ami: "ami-0e2c8caa4b6378d8c",
    instanceType: "t3.nano",
    metadataOptions: { httpTokens: "required" },
    rootBlockDevice: { encrypted: true },
  });

  const targetTag = stateSnapshotTag(pulumi.getStack(), "openclaw");
  const host = new AwsHost("openclaw", {
    name: "openclaw",
    region: "eu-west-1",
    size: "small",
    gatewayCidrs: vpn.publicIp.apply((ip) => [`${ip}/32`]),
    kmsKeyArn: key.arn,
    versions: { openclaw: "2026.1.29", node: "24.15.0" },
    tags: { team: "assistants" },
    snapshotTargetTag: targetTag,
  });
  new AwsStateSnapshots(
    "openclaw-snapshots",
    { name: "openclaw", targetTag, schedule: { enabled: true, frequency: "daily", hourUtc: 4, retain: 7 } },
    { dependsOn: [host] },
  );

  return { gatewayUrl: host.gatewayUrl, stateDiskId: host.stateDiskId };
};
