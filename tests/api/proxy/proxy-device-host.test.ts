/**
 * The host side of the proxy's device (docs/proxy.md "Device identity"): the
 * host config's optional `proxyDevice` block (parser and field errors, only
 * from the API's job runner), cloud-init's guard (the id must be the key's)
 * and what first boot gets only when it is set (settings, script, service,
 * timer, the admin window's template unit, the runcmd step), and the
 * script's shellcheck. The script itself runs against the real gateway in
 * device-identity.test.ts and (its admin modes) proxy-device-admin.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCloudConfig } from "../../../cloud-init/index";
import { resolveHostArgs } from "../../../components/host/args";
import { hostBootInput, stateDevicePaths } from "../../../components/host/boot";
import { ConfigError } from "../../../core/errors";
import { parseHostConfig } from "../../../program/host-config";
import { ProxyDeviceIdentity } from "../../../api/proxy/device-identity";
import { requireTool } from "../../harness/tools";
import { cloudInitSchema, CLOUDS, fileAt, INPUTS, parseCloudConfig, runTool, shellcheck, withScratch } from "../../cloud-init/fixtures";

const VALID: Record<string, unknown> = {
  cloud: "aws",
  region: "eu-west-1",
  gatewayCidrs: ["203.0.113.0/24"],
  versions: { openclaw: "2026.1.29", node: "24.15.0" },
};
const DEVICE = ProxyDeviceIdentity.generate().public();

function refusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("accepted");
}

describe("the host config's proxyDevice", () => {
  it("is taken from the API's job runner (with registration allowed) and refused in a request", () => {
    expect(parseHostConfig({ ...VALID, proxyDevice: DEVICE }, { allowRegistration: true }).proxyDevice).toEqual(DEVICE);
    expect(parseHostConfig(VALID, { allowRegistration: true }).proxyDevice).toBeUndefined();
    expect(refusal(() => parseHostConfig({ ...VALID, proxyDevice: DEVICE })).key).toBe("proxyDevice");
  });

  it("names the field that is wrong", () => {
    const parse = (proxyDevice: unknown) => () => parseHostConfig({ ...VALID, proxyDevice }, { allowRegistration: true });
    expect(refusal(parse("key")).key).toBe("proxyDevice");
    expect(refusal(parse({ ...DEVICE, extra: 1 })).key).toBe("proxyDevice.extra");
    expect(refusal(parse({ ...DEVICE, publicKey: "AAAA" })).key).toBe("proxyDevice.publicKey");
    expect(refusal(parse({ ...DEVICE, publicKey: `${DEVICE.publicKey.slice(0, 42)}+` })).key).toBe("proxyDevice.publicKey");
    expect(refusal(parse({ ...DEVICE, id: DEVICE.id.toUpperCase() })).key).toBe("proxyDevice.id");
    expect(refusal(parse({ publicKey: DEVICE.publicKey })).key).toBe("proxyDevice.id");
  });
});

describe("proxyDevice in the rendered cloud-config", () => {
  const paths = [
    "/etc/clawstack/proxy-device.conf",
    "/usr/local/lib/clawstack/approve-proxy-device.sh",
    "/etc/systemd/system/clawstack-proxy-device.service",
    "/etc/systemd/system/clawstack-proxy-device.timer",
    "/etc/systemd/system/clawstack-proxy-device-admin@.service",
  ];
  /** A unit's `[Service]` lines. */
  const serviceLines = (unit: string) => unit.slice(unit.indexOf("[Service]")).trim().split("\n");

  for (const cloud of CLOUDS) {
    it(`${cloud}: the settings, the script, its service and timer, the admin window's unit and the runcmd step only when set`, () => {
      const without = parseCloudConfig(renderCloudConfig(INPUTS[cloud])) as unknown as { write_files: { path: string }[]; runcmd: string[][] };
      for (const path of paths) expect(without.write_files.map((entry) => entry.path)).not.toContain(path);
      expect(JSON.stringify(without.runcmd)).not.toContain("proxy-device");

      const config = parseCloudConfig(renderCloudConfig({ ...INPUTS[cloud], proxyDevice: DEVICE }));
      expect(fileAt(config, paths[0]!).content).toContain(`PROXY_DEVICE_ID='${DEVICE.id}'\nPROXY_DEVICE_PUBLIC_KEY='${DEVICE.publicKey}'\n`);
      expect(fileAt(config, paths[1]!)).toMatchObject({ permissions: "0755", content: readFileSync(join(__dirname, "../../../cloud-init/scripts/approve-proxy-device.sh"), "utf8") });
      const service = fileAt(config, paths[2]!).content;
      expect(service).toContain("User=openclaw");
      expect(service).toContain("EnvironmentFile=/var/lib/openclaw/state/.env");
      expect(service).toContain(`ConditionPathExists=!/var/lib/openclaw/state/.clawstack-proxy-device-${DEVICE.id}`);
      expect(fileAt(config, paths[3]!).content).toContain("OnUnitActiveSec=30s");
      // The admin window: the same user, environment and hardening, the instance name as the script's only argument,
      // no stamp condition (it runs whether or not the device is paired) and "gateway not ready" is a failure.
      const admin = fileAt(config, paths[4]!).content;
      expect(serviceLines(admin)).toEqual(
        serviceLines(service)
          .filter((line) => line !== "SuccessExitStatus=3")
          .map((line) => (line.startsWith("ExecStart=") ? `${line} %i` : line)),
      );
      expect(admin).toContain("ExecStart=/usr/local/lib/clawstack/approve-proxy-device.sh %i\n");
      expect(admin).toContain("Type=oneshot\n");
      expect(admin).not.toContain("ConditionPathExists");
      expect(admin).not.toContain("[Install]");
      expect((config as unknown as { runcmd: string[][] }).runcmd.at(-1)).toEqual(["systemctl", "enable", "--now", "clawstack-proxy-device.timer"]);
    });
  }

  it("reaches the boot input through the host components, and only when set", () => {
    const base = { name: "claw", region: "r", gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "2026.1.29", node: "24.15.0" } };
    const input = hostBootInput("digitalocean", resolveHostArgs({ ...base, proxyDevice: DEVICE }), stateDevicePaths.gcp("state"), { source: "generate" });
    expect(input.proxyDevice).toEqual(DEVICE);
    expect(renderCloudConfig(input)).toContain(DEVICE.publicKey);
    expect("proxyDevice" in hostBootInput("digitalocean", resolveHostArgs(base), stateDevicePaths.gcp("state"), { source: "generate" })).toBe(false);
  });

  it("refuses an id that is not the key's, naming the field", () => {
    const other = ProxyDeviceIdentity.generate().public();
    const error = refusal(() => renderCloudConfig({ ...INPUTS.digitalocean, proxyDevice: { id: other.id, publicKey: DEVICE.publicKey } }));
    expect(error.key).toBe("proxyDevice.id");
    expect(error.message).toContain(DEVICE.id);
  });

  it.skipIf(!requireTool("cloud-init", "validating the cloud-config with proxyDevice"))("every cloud's config with proxyDevice passes `cloud-init schema`", () => {
    for (const cloud of CLOUDS) {
      const result = cloudInitSchema(renderCloudConfig({ ...INPUTS[cloud], proxyDevice: DEVICE }));
      expect(result.valid, `${cloud}: ${result.output}`).toBe(true);
    }
  });

  it.skipIf(!requireTool("systemd-analyze", "checking the proxy device's units with `systemd-analyze verify`"))("its service, timer and admin window's unit (as the instances the agent starts) parse without a warning", () => {
    const config = parseCloudConfig(renderCloudConfig({ ...INPUTS.gcp, proxyDevice: DEVICE }));
    const files = Object.fromEntries(paths.slice(2).map((path) => [path.split("/").pop()!, fileAt(config, path).content]));
    const template = "clawstack-proxy-device-admin@.service";
    for (const mode of ["admin-open", "admin-close"]) files[template.replace("@", `@${mode}`)] = files[template]!;
    delete files[template];
    const warnings = withScratch(files, (dir) =>
      Object.keys(files).flatMap((name) =>
        runTool("systemd-analyze", ["verify", join(dir, name)]).output.split("\n").filter((line) => line.includes(`${name}:`) && /:\d+: /.test(line)),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it.skipIf(!requireTool("shellcheck", "approve-proxy-device.sh must pass shellcheck"))("approve-proxy-device.sh passes shellcheck", () => {
    const result = shellcheck(readFileSync(join(__dirname, "../../../cloud-init/scripts/approve-proxy-device.sh"), "utf8"));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });
});
