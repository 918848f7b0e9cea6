import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Realistic answers for the offline synth: computed outputs a real `pulumi up`
 * would return (ids, ARNs, addresses, service-account emails) and the invokes
 * the host components make (Ubuntu AMI and image lookups). Deterministic: the
 * same resource name always gets the same fake id.
 */

const ACCOUNT_ID = "123456789012";

function hex(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

function fakeIpv4(seed: string): string {
  // 203.0.113.0/24 (TEST-NET-3): documentation addresses, never routable.
  return `203.0.113.${(parseInt(hex(seed, 2), 16) % 250) + 1}`;
}

function fakeIpv6(seed: string): string {
  return `2001:db8::${hex(seed, 4)}`;
}

type State = Record<string, unknown>;

/** Computed outputs per resource type; everything else echoes its inputs. */
function computedState(type: string, name: string, inputs: State): { id: string; state: State } {
  const region = "us-east-1";
  switch (type) {
    case "digitalocean:index/droplet:Droplet":
      return { id: String(parseInt(hex(name, 8), 16)), state: { ipv4Address: fakeIpv4(name), ipv6Address: fakeIpv6(name), status: "active" } };
    case "digitalocean:index/volume:Volume":
    case "digitalocean:index/firewall:Firewall":
      return { id: `${hex(name, 8)}-${hex(`${name}1`, 4)}-11f0-${hex(`${name}2`, 4)}-${hex(`${name}3`, 12)}`, state: {} };
    case "digitalocean:index/sshKey:SshKey":
      return { id: String(parseInt(hex(name, 7), 16)), state: { fingerprint: hex(name, 32).replace(/(..)(?!$)/g, "$1:") } };
    case "aws:ec2/instance:Instance":
      return { id: `i-${hex(name, 17)}`, state: { publicIp: fakeIpv4(name), ipv6Addresses: [], arn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:instance/i-${hex(name, 17)}` } };
    case "aws:ebs/volume:Volume":
      return { id: `vol-${hex(name, 17)}`, state: { arn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:volume/vol-${hex(name, 17)}` } };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: `sg-${hex(name, 17)}`, state: {} };
    case "aws:ec2/keyPair:KeyPair":
      return { id: name, state: { keyName: (inputs.keyName as string | undefined) ?? `${name}-${hex(name, 8)}` } };
    case "aws:ec2/eip:Eip":
      return { id: `eipalloc-${hex(name, 17)}`, state: { allocationId: `eipalloc-${hex(name, 17)}`, publicIp: fakeIpv4(`${name}-eip`) } };
    case "digitalocean:index/reservedIp:ReservedIp": {
      const ipAddress = fakeIpv4(`${name}-reserved`);
      return { id: ipAddress, state: { ipAddress } };
    }
    case "gcp:compute/address:Address":
      return {
        id: `projects/${String(inputs.project)}/regions/${String(inputs.region)}/addresses/${String(inputs.name)}`,
        state: { address: fakeIpv4(`${name}-address`) },
      };
    case "aws:ssm/parameter:Parameter":
      return { id: String(inputs.name), state: { arn: `arn:aws:ssm:${region}:${ACCOUNT_ID}:parameter${String(inputs.name)}` } };
    case "aws:iam/role:Role":
      return { id: name, state: { name: `${name}-${hex(name, 7)}`, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}-${hex(name, 7)}` } };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { id: name, state: { name: `${name}-${hex(name, 7)}`, arn: `arn:aws:iam::${ACCOUNT_ID}:instance-profile/${name}-${hex(name, 7)}` } };
    case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
      return { id: `policy-${hex(name, 17)}`, state: { arn: `arn:aws:dlm:${region}:${ACCOUNT_ID}:policy/policy-${hex(name, 17)}` } };
    case "aws:kms/key:Key": {
      const keyId = `${hex(name, 8)}-${hex(`${name}1`, 4)}-4${hex(`${name}2`, 3)}-8${hex(`${name}3`, 3)}-${hex(`${name}4`, 12)}`;
      return { id: keyId, state: { keyId, arn: `arn:aws:kms:${region}:${ACCOUNT_ID}:key/${keyId}` } };
    }
    case "aws:s3/bucket:Bucket": {
      const bucket = String(inputs.bucket ?? `${name}-${hex(name, 7)}`);
      return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` } };
    }
    case "gcp:kms/keyRing:KeyRing":
      return { id: `projects/${String(inputs.project)}/locations/${String(inputs.location)}/keyRings/${String(inputs.name)}`, state: {} };
    case "gcp:kms/cryptoKey:CryptoKey":
      return { id: `${String(inputs.keyRing)}/cryptoKeys/${String(inputs.name)}`, state: {} };
    case "gcp:serviceaccount/account:Account": {
      const project = String(inputs.project ?? "mock-project");
      return { id: name, state: { email: `${String(inputs.accountId)}@${project}.iam.gserviceaccount.com`, uniqueId: String(parseInt(hex(name, 12), 16)) } };
    }
    case "gcp:compute/instance:Instance": {
      const nics = (inputs.networkInterfaces as State[] | undefined) ?? [];
      return {
        id: `projects/${String(inputs.project)}/zones/${String(inputs.zone)}/instances/${String(inputs.name)}`,
        state: {
          instanceId: String(parseInt(hex(name, 12), 16)),
          networkInterfaces: nics.map((nic) => ({ ...nic, accessConfigs: [{ natIp: fakeIpv4(name) }] })),
        },
      };
    }
    case "gcp:compute/disk:Disk":
      return { id: `projects/${String(inputs.project)}/zones/${String(inputs.zone)}/disks/${String(inputs.name)}`, state: {} };
    case "gcp:secretmanager/secret:Secret":
      return { id: `projects/${String(inputs.project)}/secrets/${String(inputs.secretId)}`, state: {} };
    default:
      return { id: `${name}-id`, state: {} };
  }
}

/** The canned invoke answers, keyed by function token. */
function invokeResult(token: string, inputs: State): State {
  switch (token) {
    case "aws:ec2/getAmi:getAmi": {
      // The publisher asked for: Debian's account (the default image) or Canonical's.
      const debian = Array.isArray(inputs.owners) && inputs.owners.includes("136693071363");
      return {
        id: debian ? "ami-0a6f1c7c2e4b9d3f1" : "ami-0e2c8caa4b6378d8c",
        imageId: debian ? "ami-0a6f1c7c2e4b9d3f1" : "ami-0e2c8caa4b6378d8c",
        name: debian ? "debian-12-amd64-20250112-1991" : "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115",
        ownerId: debian ? "136693071363" : "099720109477",
        architecture: "x86_64",
        virtualizationType: "hvm",
        rootDeviceName: debian ? "/dev/xvda" : "/dev/sda1",
        owners: inputs.owners,
      };
    }
    case "gcp:compute/getImage:getImage": {
      const debian = inputs.project === "debian-cloud";
      const name = debian ? "debian-12-bookworm-v20250113" : "ubuntu-2404-noble-amd64-v20250117";
      const project = debian ? "debian-cloud" : "ubuntu-os-cloud";
      return {
        id: `projects/${project}/global/images/${name}`,
        name,
        family: debian ? "debian-12" : "ubuntu-2404-lts-amd64",
        project,
        selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/global/images/${name}`,
      };
    }
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/synth`, userId: "AIDASYNTH", id: ACCOUNT_ID };
    case "aws:index/getRegion:getRegion":
      return { name: "us-east-1", id: "us-east-1", region: "us-east-1" };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    default:
      return {};
  }
}

/** The synth's mocks. `newResource` echoes inputs plus the type's computed outputs. */
export function synthMocks(): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs) {
      const { id, state } = computedState(args.type, args.name, args.inputs as State);
      return { id, state: { ...args.inputs, ...state } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      return invokeResult(args.token, args.inputs as State);
    },
  };
}
