import * as pulumi from "@pulumi/pulumi";
import * as ebs from "@pulumi/aws/ebs";
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import * as ssm from "@pulumi/aws/ssm";
import type { GatewayTokenSource } from "../../cloud-init/index.js";
import { HOST_INSTANCE_PROFILE_ACCESS_ARGS, HOST_ROLE_ACCESS_ARGS } from "../access/workload-roles.js";
import { checkAwsImportableSshKey } from "../../core/validation.js";
import { HOST_DEFAULTS } from "../../core/host-config.js";
import { MACHINE_SIZES } from "../../core/presets.js";
import { type HostArgs, type HostOutputs, resolveHostArgs, withKnownSources } from "./args.js";
import { hostUserData, stateDevicePaths, userDataInput, withDevicePath } from "./boot.js";
import { type IngressRule, ingressRules, OPEN_EGRESS_CIDRS, splitCidrsByFamily } from "./firewall.js";
import { awsTags } from "./tags.js";
import { IMAGE_SOURCES } from "./images.js";

export interface AwsHostArgs extends HostArgs {
  /** Availability zone of the instance and its state volume. Defaults to `<region>a` (`HOST_DEFAULTS.zone`). */
  availabilityZone?: string;
  /**
   * Customer-managed KMS key (ARN) for the EBS volumes and the token parameter, for example another
   * resource's `key.arn`. Defaults to the AWS-managed keys.
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** Tag on the state volume that its snapshot policy targets (`stateSnapshotTag`). Defaults to none. */
  snapshotTargetTag?: { key: string; value: string };
  /**
   * Permissions boundary (an IAM policy ARN) of the host role a `gatewayToken` needs. Defaults to none.
   * The `aws-access` provisioner role creates host roles only with its boundary: deploying with it,
   * pass `hostRoleAccessArgs().permissionsBoundary` (`components/access/workload-roles.ts`).
   */
  permissionsBoundaryArn?: pulumi.Input<string>;
  /**
   * VPC of the security group and subnet of the instance, given together (the subnet must lie in
   * `availabilityZone`), for example another resource's `vpc.id` and `subnet.id`. Defaults to the
   * region's default VPC and its default subnet of the zone.
   */
  vpcId?: pulumi.Input<string>;
  subnetId?: pulumi.Input<string>;
}

export { CANONICAL_OWNER_ID, DEBIAN_OWNER_ID } from "./images.js";
/** Root disk size in GiB: the OS, Node.js and OpenClaw (state lives on its own volume). */
export const AWS_ROOT_VOLUME_GIB = 20;
/** Device name the state volume is attached under; the host finds it by volume id, not by this name. */
export const AWS_STATE_DEVICE_NAME = "/dev/sdf";

/** An EBS volume id of the real ids' length (`vol-` and 17 hex digits). */
const STAND_IN_VOLUME_ID = "vol-00000000000000000";

/** Security group ingress blocks for each cloud-neutral rule (pure). */
export function awsIngressRules(rules: IngressRule[]) {
  return rules.map((rule) => {
    const { ipv4, ipv6 } = splitCidrsByFamily(rule.cidrs);
    return {
      description: rule.description,
      protocol: rule.protocol,
      fromPort: rule.fromPort,
      toPort: rule.toPort,
      cidrBlocks: ipv4,
      ipv6CidrBlocks: ipv6,
    };
  });
}

/** Open egress (pure). */
export function awsEgressRules() {
  const { ipv4, ipv6 } = splitCidrsByFamily(OPEN_EGRESS_CIDRS);
  return [{ description: "Open egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ipv4, ipv6CidrBlocks: ipv6 }];
}

/** Trust policy of the host's instance role: EC2 only. */
export function ec2TrustPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  });
}

/**
 * The instance role's only permissions: read the one token parameter, and
 * decrypt with the customer-managed key only for that parameter (when one is used).
 */
export function gatewayTokenReadPolicy(parameterArn: string, kmsKeyArn: string | undefined): string {
  const statements: object[] = [{ Sid: "ReadGatewayToken", Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn }];
  if (kmsKeyArn) {
    statements.push({
      Sid: "DecryptGatewayToken",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: kmsKeyArn,
      Condition: { StringEquals: { "kms:EncryptionContext:PARAMETER_ARN": parameterArn } },
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** The SSM parameter name of a host's gateway token. */
export function gatewayTokenParameterName(stack: string, hostName: string): string {
  return `/clawstack/${stack}/${hostName}/gateway-token`;
}

/**
 * An OpenClaw host on AWS: an EC2 instance on the official Debian 12 (default) or Ubuntu 24.04 AMI with
 * IMDSv2 required (hop limit 1), an encrypted gp3 root, no key pair unless
 * `sshAccess`; its state on a separate encrypted EBS volume attached by its own
 * resource; a security group admitting only `ingressRules`. A gateway token
 * given as a secret goes to an SSM SecureString that only this instance's role
 * may read; otherwise the host generates one and has no role at all.
 */
export class AwsHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIpv4: pulumi.Output<string>;
  readonly publicIpv6: pulumi.Output<string | null>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly stateDiskId: pulumi.Output<string>;
  /** The security group's id: the API authorizes and revokes a support grant's SSH rule on it (docs/zero-access.md). */
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: AwsHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("clawstack:host:AwsHost", name, {}, opts);
    const resolved = resolveHostArgs(args);
    // EC2 ImportKeyPair takes RSA and ED25519 keys only: refused here, before anything is created.
    if (resolved.sshAccess) checkAwsImportableSshKey("sshAccess.publicKey", resolved.sshAccess.publicKey);
    if ((args.vpcId === undefined) !== (args.subnetId === undefined)) {
      throw new pulumi.ResourceError("`vpcId` and `subnetId` go together: the security group is created in the VPC, the instance in the subnet; give both or neither", this);
    }
    const availabilityZone = args.availabilityZone ?? HOST_DEFAULTS.zone("aws", resolved.region);
    const kms = args.kmsKeyArn ? { kmsKeyId: args.kmsKeyArn } : {};
    const tagsFor = (suffix: string) => awsTags(suffix ? `${resolved.name}-${suffix}` : resolved.name, resolved.tags);

    const imageSource = IMAGE_SOURCES[resolved.image].aws;
    const ami = ec2.getAmiOutput(
      {
        owners: [imageSource.owner],
        mostRecent: true,
        filters: [
          { name: "name", values: [imageSource.namePattern] },
          { name: "virtualization-type", values: ["hvm"] },
          { name: "architecture", values: ["x86_64"] },
        ],
      },
      { parent: this },
    );

    const securityGroup = new ec2.SecurityGroup(
      `${name}-gateway`,
      {
        description: "OpenClaw host: TLS gateway and ClawChat from allowed sources only",
        ingress: withKnownSources(resolved, (known) => awsIngressRules(ingressRules(known))),
        egress: awsEgressRules(),
        ...(args.vpcId !== undefined ? { vpcId: args.vpcId } : {}),
        tags: tagsFor("gateway"),
      },
      { parent: this },
    );

    const volume = new ebs.Volume(
      `${name}-state`,
      {
        availabilityZone,
        size: resolved.stateDiskGiB,
        type: "gp3",
        encrypted: true,
        ...kms,
        ...(resolved.restoreFromSnapshot ? { snapshotId: resolved.restoreFromSnapshot } : {}),
        tags: {
          ...tagsFor("state"),
          ...(args.snapshotTargetTag ? { [args.snapshotTargetTag.key]: args.snapshotTargetTag.value } : {}),
        },
      },
      // Unlike the GCP disk and the DigitalOcean volume, an EBS volume has no name of its own
      // (`Name` is only a tag), so Pulumi's default create-before-replace works and is kept: on a
      // restore in place the new volume exists before the old one is deleted.
      { parent: this },
    );

    const token = this.deliverGatewayToken(name, resolved.name, resolved.region, resolved.gatewayToken, args.kmsKeyArn, args.permissionsBoundaryArn, tagsFor);

    const keyPair = resolved.sshAccess
      ? new ec2.KeyPair(`${name}-ssh`, { publicKey: resolved.sshAccess.publicKey, tags: tagsFor("ssh") }, { parent: this })
      : undefined;

    // The host's stable address: an Elastic IP of its own, kept across stop/start and replacement, so
    // `gatewayUrl` and what ClawChat clients hold stay valid; first boot writes it into the ClawChat
    // security file (on the state disk) instead of whatever address the instance has at that moment.
    const address = new ec2.Eip(`${name}-ip`, { domain: "vpc", tags: tagsFor("ip") }, { parent: this });

    // Rendered once, now (when the CIDRs are known), with a stand-in volume id of the
    // real id's length and a stand-in address of the longest IPv4 text, so a config that
    // cannot be delivered (ClawChat bundle over budget) fails before the instance is
    // created; the real id and address are put into that text once they exist, without
    // rendering again.
    const standInPath = stateDevicePaths.aws(STAND_IN_VOLUME_ID);
    const rendered = withKnownSources(resolved, (known) =>
      hostUserData("aws", known, standInPath, token.source, { warn: (message) => pulumi.log.warn(message, this), publicIpv4StandIn: true }),
    );
    const userData = pulumi
      .all([volume.id, address.publicIp, rendered])
      .apply(([volumeId, publicIp, once]) => withDevicePath("aws", once, standInPath, stateDevicePaths.aws(volumeId), publicIp));

    const instance = new ec2.Instance(
      name,
      {
        ami: ami.id,
        instanceType: MACHINE_SIZES.aws[resolved.size].machineType,
        availabilityZone,
        ...(args.subnetId !== undefined ? { subnetId: args.subnetId } : {}),
        associatePublicIpAddress: true,
        vpcSecurityGroupIds: [securityGroup.id],
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
        rootBlockDevice: { volumeType: "gp3", volumeSize: AWS_ROOT_VOLUME_GIB, encrypted: true, deleteOnTermination: true, ...kms },
        // The root volume is tagged in the RunInstances call itself (its TagSpecifications),
        // which the provisioner role allows (`ec2:CreateTags` with `ec2:CreateAction`);
        // `rootBlockDevice.tags` would be applied by a separate CreateTags after launch,
        // which it refuses (and which conflicts with `volumeTags` in the provider).
        volumeTags: tagsFor("root"),
        userData: userDataInput(resolved, userData.apply((data) => (data.encoding === "plain" ? data.userData : undefined))),
        userDataBase64: userDataInput(resolved, userData.apply((data) => (data.encoding === "gzip-base64" ? data.userDataBase64 : undefined))),
        // Replacement is decided by the boot fingerprint below, not by the raw user-data: that also
        // carries the single-use registration token, new at every `up` the API runs.
        userDataReplaceOnChange: false,
        ...(token.instanceProfile ? { iamInstanceProfile: token.instanceProfile.name } : {}),
        ...(keyPair ? { keyName: keyPair.keyName } : {}),
        monitoring: false,
        tags: tagsFor(""),
      },
      // A newer AMI must not replace a running host (unattended upgrades keep it patched).
      // `volumeTags` is written at launch only: on an update the provider would retag every
      // attached volume with it, the state volume included (clobbering its own tags and the
      // snapshot target tag), and the provisioner role refuses tag changes after creation anyway.
      // A changed boot fingerprint (a version bump, any setting cloud-init applies; not a fresh registration
      // token) replaces the instance, so first boot really runs it; the state volume and the Elastic IP move
      // to the new one.
      // The user data itself is ignored on update: a fresh registration token alone would otherwise make the
      // provider stop and start the instance to rewrite it, for nothing (a replacement takes the new one).
      {
        parent: this,
        ignoreChanges: ["ami", "volumeTags", "userData", "userDataBase64"],
        replacementTrigger: pulumi.output(rendered).apply((once) => once.fingerprint),
      },
    );

    // Its own resource, removed before a replacement is attached: the volume
    // itself is never replaced by instance changes.
    new ec2.VolumeAttachment(
      `${name}-state`,
      { deviceName: AWS_STATE_DEVICE_NAME, volumeId: volume.id, instanceId: instance.id, stopInstanceBeforeDetaching: true },
      { parent: this, deleteBeforeReplace: true },
    );

    // The address's association names the instance: it is removed before a replacement's is made (so
    // deleting the old one never detaches the address from the new instance).
    new ec2.EipAssociation(
      `${name}-ip`,
      { allocationId: address.allocationId, instanceId: instance.id },
      { parent: this, deleteBeforeReplace: true },
    );

    this.publicIpv4 = address.publicIp;
    this.publicIpv6 = instance.ipv6Addresses.apply((addresses) => addresses?.[0] ?? null);
    this.gatewayUrl = pulumi.interpolate`https://${address.publicIp}:3000`;
    this.instanceId = instance.id;
    this.stateDiskId = volume.id;
    this.securityGroupId = securityGroup.id;
    this.registerOutputs({
      publicIpv4: this.publicIpv4,
      publicIpv6: this.publicIpv6,
      gatewayUrl: this.gatewayUrl,
      instanceId: this.instanceId,
      stateDiskId: this.stateDiskId,
      securityGroupId: this.securityGroupId,
    });
  }

  private deliverGatewayToken(
    name: string,
    hostName: string,
    region: string,
    gatewayToken: pulumi.Input<string> | undefined,
    kmsKeyArn: pulumi.Input<string> | undefined,
    permissionsBoundaryArn: pulumi.Input<string> | undefined,
    tagsFor: (suffix: string) => Record<string, string>,
  ): { source: GatewayTokenSource; instanceProfile?: iam.InstanceProfile } {
    if (gatewayToken === undefined) return { source: { source: "generate" } };
    const parameterName = gatewayTokenParameterName(pulumi.getStack(), hostName);
    const parameter = new ssm.Parameter(
      `${name}-gateway-token`,
      {
        name: parameterName,
        type: "SecureString",
        value: pulumi.secret(gatewayToken),
        ...(kmsKeyArn ? { keyId: kmsKeyArn } : {}),
        description: "OpenClaw gateway token, readable only by its host's instance role",
        tags: tagsFor("gateway-token"),
      },
      { parent: this },
    );
    // Under the path the provisioner role (`aws-access`) creates host roles in; with a boundary only
    // when one is given (that role requires its workload boundary, which only `aws-access` creates).
    const role = new iam.Role(
      `${name}-host`,
      {
        ...HOST_ROLE_ACCESS_ARGS,
        ...(permissionsBoundaryArn !== undefined ? { permissionsBoundary: permissionsBoundaryArn } : {}),
        assumeRolePolicy: ec2TrustPolicy(),
        description: "OpenClaw host: reads its own gateway token, nothing else",
        tags: tagsFor("host"),
      },
      { parent: this },
    );
    new iam.RolePolicy(
      `${name}-gateway-token`,
      { role: role.name, policy: pulumi.all([parameter.arn, kmsKeyArn]).apply(([arn, key]) => gatewayTokenReadPolicy(arn, key)) },
      { parent: this },
    );
    const instanceProfile = new iam.InstanceProfile(
      `${name}-host`,
      { ...HOST_INSTANCE_PROFILE_ACCESS_ARGS, role: role.name, tags: tagsFor("host") },
      { parent: this },
    );
    return { source: { source: "aws-ssm", parameterName, region }, instanceProfile };
  }
}
