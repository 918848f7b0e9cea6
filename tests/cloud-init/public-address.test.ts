import { describe, expect, it } from "vitest";
import { renderCloudConfig, withPublicIpv4 } from "../../cloud-init/index.js";
import { ConfigError } from "../../core/errors.js";
import { INPUTS } from "./fixtures.js";

/** The host's stable public address in its settings: the ClawChat security file names it (clawchat.sh). */
describe("publicIpv4", () => {
  it("renders PUBLIC_IPV4 in the host's settings, empty when none is given (the metadata's address is used)", () => {
    expect(renderCloudConfig({ ...INPUTS.aws, publicIpv4: "198.51.100.7" })).toContain("PUBLIC_IPV4='198.51.100.7'");
    expect(renderCloudConfig(INPUTS.aws)).toContain("PUBLIC_IPV4=''");
  });

  it("is refused unless it is an IPv4 address, naming `publicIpv4`", () => {
    for (const bad of ["2001:db8::1", "198.51.100.7; reboot", "203.0.113.300"]) {
      expect(() => renderCloudConfig({ ...INPUTS.aws, publicIpv4: bad })).toThrow(ConfigError);
      expect(() => renderCloudConfig({ ...INPUTS.aws, publicIpv4: bad })).toThrow(/`publicIpv4`/);
    }
  });

  it("withPublicIpv4 puts the allocated address in place of the stand-in, exactly as rendering it would", () => {
    const standIn = renderCloudConfig({ ...INPUTS.digitalocean, publicIpv4: "255.255.255.255" });
    expect(withPublicIpv4(standIn, "255.255.255.255", "203.0.113.9")).toBe(renderCloudConfig({ ...INPUTS.digitalocean, publicIpv4: "203.0.113.9" }));
    expect(() => withPublicIpv4(standIn, "255.255.255.255", "not-an-address")).toThrow(/IPv4/);
    expect(() => withPublicIpv4(renderCloudConfig(INPUTS.digitalocean), "255.255.255.255", "203.0.113.9")).toThrow(/exactly once/);
  });
});
