import { describe, expect, it } from "vitest";
import { parseHostMirrors, parseVersionPins } from "../../core/mirrors.js";
import { parseHostConfig } from "../../program/host-config.js";

const SHA = "c5f059f8f481debf0a5e4f18cac5753dc0f44f07543c283f48f12c300f6a2644";
const INTEGRITY = `sha512-${"A".repeat(86)}==`;
const BASE = { cloud: "digitalocean", region: "fra1", gatewayCidrs: ["203.0.113.0/24"] };

describe("clawstack:mirrors and the version pins", () => {
  it("takes https mirrors with their pins and normalizes the URLs", () => {
    const pins = parseVersionPins({ nodeSha256: { x64: SHA }, openclawIntegrity: INTEGRITY });
    expect(parseHostMirrors("mirrors", { npmRegistry: "https://npm.internal.example", nodeDist: "https://mirror.example/node/" }, pins)).toEqual({
      npmRegistry: "https://npm.internal.example/",
      nodeDist: "https://mirror.example/node",
    });
    expect(parseHostMirrors("mirrors", undefined, {})).toBeUndefined();
  });

  it("refuses plain http, quotes and unknown keys, naming the field", () => {
    expect(() => parseHostMirrors("mirrors", { npmRegistry: "http://npm.internal.example/" }, { openclawIntegrity: INTEGRITY })).toThrow(/`mirrors.npmRegistry` must be an https:\/\/ URL/);
    expect(() => parseHostMirrors("mirrors", { nodeDist: "https://mirror.example/'x" }, { nodeSha256: { x64: SHA } })).toThrow(/`mirrors.nodeDist`/);
    expect(() => parseHostMirrors("mirrors", { pypi: "https://x.example/" }, {})).toThrow(/mirrors/);
  });

  it("refuses a mirror whose pin is missing: the host never takes a mirror's word for content", () => {
    expect(() => parseHostMirrors("mirrors", { nodeDist: "https://mirror.example/node" }, {})).toThrow(/`mirrors.nodeDist` needs `versions.nodeSha256.x64`/);
    expect(() => parseHostMirrors("mirrors", { npmRegistry: "https://npm.example/" }, { nodeSha256: { x64: SHA } })).toThrow(/`mirrors.npmRegistry` needs `versions.openclawIntegrity`/);
  });

  it("checks the pins' formats", () => {
    expect(() => parseVersionPins({ nodeSha256: { x64: "ABC" } })).toThrow(/`versions.nodeSha256.x64` must be 64 lowercase hex/);
    expect(() => parseVersionPins({ openclawIntegrity: "sha1-abc" })).toThrow(/`versions.openclawIntegrity` must be npm's integrity/);
  });

  it("reaches the parsed host config, with Debian 12 as the default image and Ubuntu 24.04 selectable", () => {
    const config = parseHostConfig({
      ...BASE,
      versions: { openclaw: "2026.9.6", node: "24.22.3", nodeSha256: { x64: SHA }, openclawIntegrity: INTEGRITY },
      mirrors: { npmRegistry: "https://npm.example/", nodeDist: "https://mirror.example/node" },
    });
    expect(config.image).toBe("debian-12");
    expect(config.mirrors).toEqual({ npmRegistry: "https://npm.example/", nodeDist: "https://mirror.example/node" });
    expect(config.versions).toEqual({ openclaw: "2026.9.6", node: "24.22.3", nodeSha256: { x64: SHA }, openclawIntegrity: INTEGRITY });
    expect(parseHostConfig({ ...BASE, image: "ubuntu-24.04", versions: { openclaw: "2026.9.6", node: "24.22.3" } }).image).toBe("ubuntu-24.04");
    expect(() => parseHostConfig({ ...BASE, image: "centos-7", versions: { openclaw: "2026.9.6", node: "24.22.3" } })).toThrow(/`image` must be one of/);
    expect(() => parseHostConfig({ ...BASE, versions: { openclaw: "2026.9.6", node: "24.22.3" }, mirrors: { nodeDist: "https://mirror.example/node" } })).toThrow(/versions.nodeSha256/);
  });
});
