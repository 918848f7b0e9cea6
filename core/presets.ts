/**
 * Cloud-neutral size presets and the regions ClawStack accepts per cloud. A
 * preset maps to one machine type per cloud with the same memory, so the
 * cloud-init renderer can size the Node heap, `MemoryMax` and swap from it.
 */

export const CLOUDS = ["digitalocean", "aws", "gcp"] as const;
export type CloudName = (typeof CLOUDS)[number];

export const SIZE_PRESETS = ["small", "medium", "large"] as const;
export type SizePreset = (typeof SIZE_PRESETS)[number];

export interface MachineSize {
  /** The cloud's machine type (DigitalOcean size slug, EC2 instance type, GCE machine type). */
  machineType: string;
  memoryMiB: number;
  vcpus: number;
}

export const MACHINE_SIZES: Record<CloudName, Record<SizePreset, MachineSize>> = {
  digitalocean: {
    small: { machineType: "s-1vcpu-2gb", memoryMiB: 2048, vcpus: 1 },
    medium: { machineType: "s-2vcpu-4gb", memoryMiB: 4096, vcpus: 2 },
    large: { machineType: "s-4vcpu-8gb", memoryMiB: 8192, vcpus: 4 },
  },
  aws: {
    small: { machineType: "t3.small", memoryMiB: 2048, vcpus: 2 },
    medium: { machineType: "t3.medium", memoryMiB: 4096, vcpus: 2 },
    large: { machineType: "t3.large", memoryMiB: 8192, vcpus: 2 },
  },
  gcp: {
    small: { machineType: "e2-small", memoryMiB: 2048, vcpus: 2 },
    medium: { machineType: "e2-medium", memoryMiB: 4096, vcpus: 2 },
    large: { machineType: "e2-standard-2", memoryMiB: 8192, vcpus: 2 },
  },
};

/** Regions with the machine types above and block storage (DigitalOcean volumes, EBS gp3, pd-balanced). */
export const REGIONS: Record<CloudName, readonly string[]> = {
  digitalocean: ["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"],
  aws: [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "sa-east-1",
  ],
  gcp: [
    "us-central1", "us-east1", "us-east4", "us-west1", "us-west2",
    "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-north1",
    "asia-east1", "asia-northeast1", "asia-southeast1", "australia-southeast1", "southamerica-east1",
  ],
};

/** ClawChat's UDP port range (seed 002 §7, port rotation within the dynamic range). */
export const CLAWCHAT_PORT_RANGE: [number, number] = [49152, 65535];

/**
 * What precedes the base64 of the AES-GCM addon a ClawChat bundle carries (clawchat/src/aead.ts), so the
 * synth can find it and leave it out where user data is short (cloud-init/bundle.ts, `withoutAeadAddon`).
 * clawchat/build.mjs writes the same text.
 */
export const CLAWCHAT_AEAD_ADDON_MARKER = "clawchat-aead-v1:";

/** The TLS endpoint in front of the loopback gateway. */
export const GATEWAY_TLS_PORT = 3000;
