import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCloudConfig } from "../../cloud-init/index.js";
import { requireTool } from "../harness/tools.js";
import { CLOUDS, fileAt, INPUTS, parseCloudConfig, REGISTRATION, runTool, shellcheck, shellScripts, STAND_IN_BUNDLE, withScratch } from "./fixtures.js";

const configs = CLOUDS.map((cloud) => ({
  cloud,
  config: parseCloudConfig(
    renderCloudConfig({
      ...INPUTS[cloud],
      clawchatBundle: { kind: "embedded", bundle: STAND_IN_BUNDLE },
      registration: REGISTRATION,
    }),
  ),
}));

describe.skipIf(!requireTool("shellcheck", "checking every shell script embedded in user-data"))("shellcheck", () => {
  it("fails a deliberately bad script, so the check can fail", () => {
    const result = shellcheck("#!/bin/sh\nfor f in $(ls *.txt); do rm $f; done\n[[ -n $x ]]\n");
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/SC2045|SC2086|SC3010/);
  });

  for (const { cloud, config } of configs) {
    it(`passes every embedded script of the ${cloud} config`, () => {
      const scripts = shellScripts(config);
      expect(scripts.map((entry) => entry.path)).toEqual(
        expect.arrayContaining([
          "/usr/local/lib/clawstack/first-boot.sh",
          "/usr/local/lib/clawstack/mount-state.sh",
          "/usr/local/lib/clawstack/install-node.sh",
          "/usr/local/lib/clawstack/install-openclaw.sh",
          "/usr/local/lib/clawstack/gateway-config.sh",
          "/usr/local/lib/clawstack/gateway-token.sh",
          "/usr/local/lib/clawstack/tls.sh",
          "/usr/local/lib/clawstack/clawchat.sh",
          "/usr/local/lib/clawstack/register.sh",
        ]),
      );
      for (const entry of scripts) {
        const result = shellcheck(entry.content);
        expect(result.output, entry.path).toBe("");
        expect(result.status, entry.path).toBe(0);
      }
    });

    it(`ships host.conf that sh reads back as the exact input values for ${cloud}`, () => {
      const conf = fileAt(config, "/etc/clawstack/host.conf").content;
      const values = withScratch({ "host.conf": conf }, (dir) =>
        execFileSync("sh", ["-c", `. "${join(dir, "host.conf")}"; printf '%s\\n' "$HOST_NAME" "$STATE_DEVICE" "$OPENCLAW_VERSION" "$CLAWCHAT_PORT_MIN" "$SSH_ENABLED"`], {
          encoding: "utf8",
        }),
      );
      const input = INPUTS[cloud];
      expect(values.split("\n").slice(0, 5)).toEqual([
        input.hostname,
        input.stateDisk.devicePath,
        input.versions.openclaw,
        String(input.clawchat.portRange[0]),
        input.ssh === null ? "0" : "1",
      ]);
    });
  }
});

describe("the token-fetching helper", () => {
  it("is valid JavaScript for the host's Node.js", () => {
    const aws = configs.find((entry) => entry.cloud === "aws")!.config;
    const helper = fileAt(aws, "/usr/local/lib/clawstack/fetch-secret.mjs").content;
    withScratch({ "fetch-secret.mjs": helper }, (dir) => {
      execFileSync(process.execPath, ["--check", join(dir, "fetch-secret.mjs")]);
    });
  });
});

describe.skipIf(!requireTool("nft", "checking the rendered host firewall with `nft -c`"))("nftables", () => {
  it("fails a deliberately broken ruleset, so the check can fail", () => {
    const result = withScratch({ "bad.nft": "table inet t {\n  chain input {\n    tcp dport 3000 acept\n  }\n}\n" }, (dir) =>
      runTool("nft", ["-c", "-f", join(dir, "bad.nft")]),
    );
    expect(result.status).not.toBe(0);
  });

  for (const { cloud, config } of configs) {
    it(`accepts the ${cloud} ruleset`, () => {
      const ruleset = fileAt(config, "/etc/clawstack/nftables.conf").content;
      const result = withScratch({ "rules.nft": ruleset }, (dir) => runTool("nft", ["-c", "-f", join(dir, "rules.nft")]));
      expect(result.output).toBe("");
      expect(result.status).toBe(0);
    });
  }
});

describe.skipIf(!requireTool("nginx", "checking the rendered TLS proxy with `nginx -t`"))("nginx", () => {
  function nginxTest(site: string): { status: number | null; output: string } {
    return withScratch({}, (dir) => {
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      ], { stdio: "ignore" });
      writeFileSync(join(dir, "site.conf"), site.replaceAll("/var/lib/openclaw/tls", dir));
      writeFileSync(
        join(dir, "nginx.conf"),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/site.conf;\n}\n`,
      );
      return runTool("nginx", ["-t", "-p", dir, "-c", join(dir, "nginx.conf")]);
    });
  }

  it("fails a deliberately broken site, so the check can fail", () => {
    expect(nginxTest("server { listen 3000 ssl; proxy_pass_bogus on; }\n").status).not.toBe(0);
  });

  it("accepts the rendered site", () => {
    const site = fileAt(configs[0]!.config, "/usr/local/lib/clawstack/nginx-clawstack.conf").content;
    const result = nginxTest(site);
    expect(result.output).toMatch(/syntax is ok/);
    expect(result.status).toBe(0);
  });
});

describe.skipIf(!requireTool("systemd-analyze", "checking the rendered units with `systemd-analyze verify`"))("systemd units", () => {
  /** Warnings about the unit's own lines ("file:line: ..."); a missing ExecStart binary is expected off-host. */
  function unitWarnings(name: string, content: string): string[] {
    return withScratch({ [name]: content }, (dir) => {
      const result = runTool("systemd-analyze", ["verify", join(dir, name)]);
      return result.output.split("\n").filter((line) => line.includes(`${name}:`) && /:\d+: /.test(line));
    });
  }

  it("reports unknown keys and bad values, so the check can fail", () => {
    const warnings = unitWarnings("bad.service", "[Service]\nExecStart=/bin/true\nProtectSystm=strict\nMemoryMax=lots\n");
    expect(warnings.length).toBe(2);
  });

  for (const { cloud, config } of configs) {
    it(`parses every ${cloud} unit without a warning`, () => {
      const units = config.write_files.filter((entry) => /\.service$|\.service\.d\//.test(entry.path));
      expect(units.length).toBeGreaterThanOrEqual(4);
      for (const entry of units.filter((unit) => unit.path.endsWith(".service"))) {
        const name = entry.path.split("/").pop()!;
        expect(unitWarnings(name, entry.content), entry.path).toEqual([]);
      }
    });
  }
});
