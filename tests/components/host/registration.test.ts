/**
 * First-boot registration through the host components: the API's `registration`
 * config reaches the rendered cloud-config, and user-data is then registered as
 * a Pulumi secret, so the single-use token never appears in a plan in
 * plaintext. Without registration, user-data stays plain (reviewable).
 */
import { describe, expect, it } from "vitest";
import { hostBootInput, stateDevicePaths } from "../../../components/host/boot.js";
import { renderCloudConfig } from "../../../cloud-init/index.js";
import { REGISTRATION_TOKEN_FILE } from "../../../cloud-init/registration.js";
import { resolveHostArgs } from "../../../components/host/args.js";
import { SECRET_PLACEHOLDER } from "../../../program/synth-types.js";
import { cloudConfigOf, GATEWAY, oneOfType, synthHost, VERSIONS } from "./support.js";

const ID = "inst_0123456789abcdef0123456789abcdef";
const TOKEN = `csreg_${"Zz9_-y".repeat(7)}k`;
const REGISTRATION = { apiUrl: `https://api.example.com/v1/instances/${ID}/register`, instanceId: ID, token: TOKEN };

/** Where each cloud's host puts user-data, read from the synthesized plan. */
const USER_DATA = {
  digitalocean: { type: "digitalocean:index/droplet:Droplet", read: (inputs: Record<string, unknown>) => inputs.userData },
  aws: {
    type: "aws:ec2/instance:Instance",
    read: (inputs: Record<string, unknown>) => inputs.userData ?? inputs.userDataBase64,
  },
  gcp: { type: "gcp:compute/instance:Instance", read: (inputs: Record<string, unknown>) => (inputs.metadata as Record<string, unknown>)["user-data"] },
} as const;

describe.each(["digitalocean", "aws", "gcp"] as const)("%s host with registration", (cloud) => {
  it("registers user-data as a secret and never shows the token", async () => {
    const result = await synthHost(cloud, { registration: REGISTRATION });
    const host = oneOfType(result, USER_DATA[cloud].type);
    expect(USER_DATA[cloud].read(host.inputs)).toBe(SECRET_PLACEHOLDER);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it("keeps user-data plain (and free of any registration step) without it", async () => {
    const result = await synthHost(cloud);
    const userData = USER_DATA[cloud].read(oneOfType(result, USER_DATA[cloud].type).inputs);
    expect(userData).not.toBe(SECRET_PLACEHOLDER);
    expect(cloudConfigOf(userData)).not.toContain(REGISTRATION_TOKEN_FILE);
  });

  it("renders the registration step, with the token only in its root-only file", () => {
    const args = resolveHostArgs({ name: "claw", region: "r", gatewayCidrs: GATEWAY, versions: VERSIONS, registration: REGISTRATION });
    const input = hostBootInput(cloud, args, stateDevicePaths.gcp("state"), { source: "generate" });
    expect(input.registration).toEqual(REGISTRATION);
    const text = renderCloudConfig(input);
    expect(text).toContain(ID);
    expect(text).toContain(REGISTRATION_TOKEN_FILE);
    expect(text.split(TOKEN).length - 1).toBe(1);
  });
});
