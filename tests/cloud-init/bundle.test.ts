import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildClawChatBundle,
  bundleSha256,
  chooseClawChatBundle,
  loadClawChatBundle,
  renderHostCloudConfig,
  USER_DATA_HEADROOM_BYTES,
  USER_DATA_LIMITS,
} from "../../cloud-init/index.js";
import { withoutAeadAddon } from "../../cloud-init/bundle.js";
import { CLAWCHAT_AEAD_ADDON_MARKER } from "../../core/presets.js";
import { ConfigError } from "../../core/errors.js";
import { INPUTS, STAND_IN_BUNDLE } from "./fixtures.js";

const ROOT = resolve(__dirname, "../..");
const URL = "https://artifacts.example.com/clawchat/0.1.0/clawchat.js";

/** Incompressible bytes: a bundle this size cannot fit any budget when embedded. */
const HUGE = randomBytes(300 * 1024);

describe("ClawChat bundle delivery (clawchat.install)", () => {
  it("builds in memory exactly the bytes `npm run clawchat:build` writes, so a fetch URL serves what user-data pins", () => {
    const dir = mkdtempSync(join(tmpdir(), "clawstack-bundle-"));
    try {
      // The build script itself, writing to another path: same script, same options, the same AES-GCM addon carried.
      execFileSync(process.execPath, [join(ROOT, "clawchat/build.mjs"), join(dir, "clawchat.js")], { cwd: ROOT, stdio: "ignore" });
      const fromScript = readFileSync(join(dir, "clawchat.js"));
      expect(buildClawChatBundle().equals(fromScript)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads the bundle (building it when missing) and it starts with the node shebang", () => {
    const bundle = loadClawChatBundle();
    expect(bundle.subarray(0, 19).toString()).toBe("#!/usr/bin/env node");
    expect(loadClawChatBundle()).toBe(bundle);
  });

  it("auto embeds when the user-data fits, on every cloud", () => {
    for (const input of Object.values(INPUTS)) {
      expect(chooseClawChatBundle(input, STAND_IN_BUNDLE, { install: "auto" }).bundle.kind).toBe("embedded");
    }
  });

  it("auto fetches from bundleUrl when embedding would go over the cloud's budget, pinning the SHA-256", () => {
    const choice = chooseClawChatBundle(INPUTS.aws, HUGE, { install: "auto", bundleUrl: URL });
    expect(choice.bundle).toEqual({ kind: "fetch", url: URL, sha256: bundleSha256(HUGE) });
    expect(choice.notice).toBeUndefined();
  });

  it("auto without a URL over budget installs no server and says why, naming `clawchat.bundleUrl`", () => {
    const choice = chooseClawChatBundle(INPUTS.aws, HUGE, { install: "auto" });
    expect(choice.bundle).toEqual({ kind: "disabled" });
    expect(choice.notice).toMatch(new RegExp(`over the ${USER_DATA_LIMITS.aws - USER_DATA_HEADROOM_BYTES.aws}-byte budget.*\`clawchat.bundleUrl\``));
  });

  it("auto keeps an eighth of the limit free: a bundle that would fit only just is fetched; embedded still takes the whole limit", () => {
    // Incompressible bytes, sized so DigitalOcean's user-data lands between the budget and the limit.
    const base = Buffer.byteLength(renderHostCloudConfig(INPUTS.digitalocean, { install: "none" }, () => STAND_IN_BUNDLE).cloudConfig);
    const target = USER_DATA_LIMITS.digitalocean - USER_DATA_HEADROOM_BYTES.digitalocean / 2;
    // Embedded, the bundle travels gzipped and base64 encoded (4/3) inside the cloud-config.
    const tight = randomBytes(Math.floor(((target - base) * 3) / 4) - 512);
    const embedded = renderHostCloudConfig(INPUTS.digitalocean, { install: "embedded" }, () => tight);
    const bytes = Buffer.byteLength(embedded.cloudConfig);
    expect(embedded.bundle.kind).toBe("embedded");
    expect(bytes).toBeGreaterThan(USER_DATA_LIMITS.digitalocean - USER_DATA_HEADROOM_BYTES.digitalocean);
    expect(bytes).toBeLessThanOrEqual(USER_DATA_LIMITS.digitalocean);
    expect(chooseClawChatBundle(INPUTS.digitalocean, tight, { install: "auto", bundleUrl: URL }).bundle.kind).toBe("fetch");
  });

  it("embedded over budget is refused naming `clawchat.install`; fetch without a URL naming `clawchat.bundleUrl`", () => {
    expect(() => chooseClawChatBundle(INPUTS.gcp, HUGE, { install: "embedded" })).toThrow(ConfigError);
    expect(() => chooseClawChatBundle(INPUTS.gcp, HUGE, { install: "embedded" })).toThrow(/`clawchat.install` cannot be embedded on gcp/);
    expect(() => chooseClawChatBundle(INPUTS.gcp, STAND_IN_BUNDLE, { install: "fetch" })).toThrow(/`clawchat.bundleUrl` must be an https:\/\/ URL/);
  });

  it("embeds the bundle without its AES-GCM addon when only that fits (saying so), never when a URL can deliver it whole", () => {
    // A bundle whose marked addon literal (incompressible, as base64 of an ELF file is) is what pushes DigitalOcean's
    // user-data over the limit; without it the rest fits.
    const base = Buffer.byteLength(renderHostCloudConfig(INPUTS.digitalocean, { install: "none" }, () => STAND_IN_BUNDLE).cloudConfig);
    const room = Math.floor(((USER_DATA_LIMITS.digitalocean - base) * 3) / 4);
    const rest = randomBytes(Math.floor(room * 0.6)).toString("base64");
    const addon = randomBytes(Math.floor(room * 0.5)).toString("base64");
    const bundle = Buffer.from(`var r="${rest}";function f(){return g("${CLAWCHAT_AEAD_ADDON_MARKER}${addon}")}`);
    const lean = withoutAeadAddon(bundle);
    expect(lean?.toString()).toBe(`var r="${rest}";function f(){return g(void 0)}`);
    expect(withoutAeadAddon(lean!)).toBeUndefined();
    expect(withoutAeadAddon(Buffer.from(`k="${CLAWCHAT_AEAD_ADDON_MARKER}"`))).toBeUndefined(); // the marker alone is no addon

    const embedded = chooseClawChatBundle(INPUTS.digitalocean, bundle, { install: "embedded" });
    expect(embedded.bundle).toEqual({ kind: "embedded", bundle: lean });
    expect(embedded.notice).toMatch(/embedded without its AES-GCM addon .* over the 65536-byte limit\), so it seals packets with node:crypto/);
    expect(embedded.notice).toMatch(/`clawchat.install: fetch` with `clawchat.bundleUrl`/);
    expect(chooseClawChatBundle(INPUTS.digitalocean, bundle, { install: "auto", bundleUrl: URL }).bundle).toEqual({ kind: "fetch", url: URL, sha256: bundleSha256(bundle) });
    expect(chooseClawChatBundle(INPUTS.gcp, bundle, { install: "embedded" })).toEqual({ bundle: { kind: "embedded", bundle } });
    // Too big even without the addon: refused (embedded) or no server (auto), both saying what each would take.
    const huge = Buffer.concat([Buffer.from(`x="${HUGE.toString("base64")}";`), bundle]);
    expect(() => chooseClawChatBundle(INPUTS.digitalocean, huge, { install: "embedded" })).toThrow(/; without its AES-GCM addon still .* over the 65536-byte limit/);
    expect(chooseClawChatBundle(INPUTS.digitalocean, huge, { install: "auto" }).notice).toMatch(/no ClawChat server installed.*without its AES-GCM addon still/);
  });

  it("the real bundle without its addon is the same program with `void 0` where the addon was", () => {
    const bundle = loadClawChatBundle();
    const lean = withoutAeadAddon(bundle);
    if (!readFileSync(join(ROOT, "clawchat/dist/clawchat.js"), "utf8").includes(`"${CLAWCHAT_AEAD_ADDON_MARKER}f0VMR`)) {
      // Built without gcc: nothing to take out.
      expect(lean).toBeUndefined();
      return;
    }
    expect(lean).toBeDefined();
    expect(bundle.length - lean!.length).toBeGreaterThan(10_000);
    expect(lean!.toString()).not.toContain(`"${CLAWCHAT_AEAD_ADDON_MARKER}f0VMR`);
  });

  it("fetch always fetches, and none installs nothing", () => {
    expect(chooseClawChatBundle(INPUTS.digitalocean, STAND_IN_BUNDLE, { install: "fetch", bundleUrl: URL }).bundle.kind).toBe("fetch");
    expect(chooseClawChatBundle(INPUTS.digitalocean, STAND_IN_BUNDLE, { install: "none", bundleUrl: URL }).bundle).toEqual({ kind: "disabled" });
  });
});
