import { describe, expect, it } from "vitest";
import { renderCloudConfig, type ClawChatBundleInput } from "../../cloud-init/index.js";
import { requireTool } from "../harness/tools.js";
import { CLOUDS, cloudInitSchema, INPUTS, parseCloudConfig, schemaTopLevelKeys, STAND_IN_BUNDLE } from "./fixtures.js";

const BUNDLES: ClawChatBundleInput[] = [
  { kind: "disabled" },
  { kind: "embedded", bundle: STAND_IN_BUNDLE },
  { kind: "fetch", url: "https://artifacts.example.com/clawchat/0.1.0/clawchat.js", sha256: "c".repeat(64) },
];

const hasCloudInit = requireTool("cloud-init", "validating rendered user-data with `cloud-init schema`");

describe.skipIf(!hasCloudInit)("cloud-init schema", () => {
  it("fails a deliberately broken config, so the check can fail", () => {
    const broken = "#cloud-config\npackages: 5\nwrite_files:\n  - path: /etc/x\n    mode: '0600'\n";
    const result = cloudInitSchema(broken);
    expect(result.valid).toBe(false);
    expect(result.output).toMatch(/packages: 5 is not of type 'array'/);
    expect(result.output).toMatch(/'mode' was unexpected/);
  });

  it("fails invalid YAML", () => {
    expect(cloudInitSchema("#cloud-config\nhostname: [unclosed\n").valid).toBe(false);
  });

  for (const cloud of CLOUDS) {
    for (const bundle of BUNDLES) {
      it(`accepts the ${cloud} config with ClawChat ${bundle.kind}`, () => {
        const text = renderCloudConfig({ ...INPUTS[cloud], clawchatBundle: bundle });
        const result = cloudInitSchema(text);
        expect(result.output).toMatch(/Valid cloud-config/);
        expect(result.valid).toBe(true);
      });
    }
  }

  it("uses only top-level keys the schema defines (cloud-init ignores unknown keys without a word)", () => {
    const known = schemaTopLevelKeys();
    expect(known.has("write_files")).toBe(true);
    expect(known.has("no_such_module")).toBe(false);
    for (const cloud of CLOUDS) {
      const config = parseCloudConfig(renderCloudConfig({ ...INPUTS[cloud], clawchatBundle: BUNDLES[1] }));
      const unknown = Object.keys(config).filter((key) => !known.has(key));
      expect(unknown, cloud).toEqual([]);
    }
  });
});
