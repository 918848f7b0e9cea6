import type { HostImage } from "../../core/host-config.js";

/**
 * Where each supported host image comes from, per cloud. Debian 12 is the
 * default (the image the boot test starts, docs/boot.md); Ubuntu 24.04 stays
 * selectable with `image: ubuntu-24.04`. AWS images are looked up by their
 * publisher's account only (the AWS access role allows exactly these owners:
 * components/access/aws-policy.ts), the newest matching name wins.
 */
export interface ImageSource {
  /** DigitalOcean image slug. */
  digitalocean: string;
  /** AWS AMI lookup: the publisher's account and the name pattern. */
  aws: { owner: string; namePattern: string };
  /** GCP image family. */
  gcp: { project: string; family: string };
  /** The image's default login user (GCP `ssh-keys` metadata). */
  loginUser: string;
}

/** Debian's cloud team account, which publishes the official Debian AMIs. */
export const DEBIAN_OWNER_ID = "136693071363";
/** Canonical's AWS account, which publishes the official Ubuntu AMIs. */
export const CANONICAL_OWNER_ID = "099720109477";

export const IMAGE_SOURCES: Record<HostImage, ImageSource> = {
  "debian-12": {
    digitalocean: "debian-12-x64",
    aws: { owner: DEBIAN_OWNER_ID, namePattern: "debian-12-amd64-*" },
    gcp: { project: "debian-cloud", family: "debian-12" },
    loginUser: "debian",
  },
  "ubuntu-24.04": {
    digitalocean: "ubuntu-24-04-x64",
    aws: { owner: CANONICAL_OWNER_ID, namePattern: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" },
    gcp: { project: "ubuntu-os-cloud", family: "ubuntu-2404-lts-amd64" },
    loginUser: "ubuntu",
  },
};
