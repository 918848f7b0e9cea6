import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../program/errors.js";
import { encodeUserData, USER_DATA_LIMITS } from "./encode.js";
import { renderCloudConfig } from "./render.js";
import type { ClawChatBundleInput, HostBootInput } from "./types.js";

/** Where `npm run clawchat:build` writes the self-contained server bundle. */
export const CLAWCHAT_BUNDLE_PATH = resolve(__dirname, "../clawchat/dist/clawchat.js");
const CLAWCHAT_ENTRY = resolve(__dirname, "../clawchat/src/cli.ts");
/** The esbuild options `clawchat/build.mjs` uses too, so both builds give the same bytes. */
const CLAWCHAT_BUNDLE_OPTIONS = resolve(__dirname, "../clawchat/bundle-options.json");

/**
 * How the ClawChat server reaches a host (`clawstack:clawchat.install`):
 * `auto` embeds the bundle in user-data when it fits the cloud's budget and
 * fetches it from `bundleUrl` otherwise; `embedded` and `fetch` force one way;
 * `none` installs no ClawChat server.
 */
export const CLAWCHAT_INSTALL_MODES = ["auto", "embedded", "fetch", "none"] as const;
export type ClawChatInstallMode = (typeof CLAWCHAT_INSTALL_MODES)[number];

export interface ClawChatInstall {
  install: ClawChatInstallMode;
  /** https:// URL serving exactly `clawchat/dist/clawchat.js` (its SHA-256 is pinned in user-data). */
  bundleUrl?: string | undefined;
}

/**
 * Reads the built ClawChat bundle. Fails with a clear message when it has not
 * been built yet.
 */
export function readClawChatBundle(path: string = CLAWCHAT_BUNDLE_PATH): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      "clawchatBundle",
      `\`clawchatBundle\` must be the built bundle at ${path} (run \`npm run clawchat:build\`); got an unreadable file: ${reason}`,
    );
  }
}

/**
 * Builds the bundle exactly as `clawchat/build.mjs` does (the same esbuild
 * options, from clawchat/bundle-options.json; a test pins the two to the same bytes) without writing it.
 */
export function buildClawChatBundle(): Buffer {
  // Loaded only when a build is needed: esbuild is a dev dependency of the repository, not of a host.
  let esbuild: typeof import("esbuild");
  try {
    esbuild = require("esbuild") as typeof import("esbuild");
  } catch {
    throw new ConfigError(
      "clawchatBundle",
      `\`clawchatBundle\`: ${CLAWCHAT_BUNDLE_PATH} is missing and esbuild (a dev dependency) is not installed to build it; run \`npm ci\` and \`npm run clawchat:build\`, or set \`clawchat.install: none\``,
    );
  }
  const options = JSON.parse(readFileSync(CLAWCHAT_BUNDLE_OPTIONS, "utf8")) as import("esbuild").BuildOptions;
  const result = esbuild.buildSync({
    ...options,
    entryPoints: [CLAWCHAT_ENTRY],
    outfile: CLAWCHAT_BUNDLE_PATH,
    logLevel: "silent",
    write: false,
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no ClawChat bundle");
  return Buffer.from(output.contents);
}

let cached: { mtimeMs: number; size: number; bundle: Buffer } | undefined;

/**
 * The ClawChat bundle a host gets: `clawchat/dist/clawchat.js` when it exists
 * (what `npm run clawchat:build` made, and what a `fetch` URL must serve);
 * otherwise it is built now and written there (atomically), so a fresh clone
 * needs no build step before `npm run synth` or `pulumi up`.
 */
export function loadClawChatBundle(path: string = CLAWCHAT_BUNDLE_PATH): Buffer {
  let stats: { mtimeMs: number; size: number } | undefined;
  try {
    stats = statSync(path);
  } catch {
    stats = undefined;
  }
  if (stats === undefined) {
    const bundle = buildClawChatBundle();
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, bundle, { mode: 0o755 });
    renameSync(temporary, path);
    stats = statSync(path);
  }
  if (cached === undefined || cached.mtimeMs !== stats.mtimeMs || cached.size !== stats.size) {
    cached = { mtimeMs: stats.mtimeMs, size: stats.size, bundle: readClawChatBundle(path) };
  }
  return cached.bundle;
}

/** SHA-256 (hex) of a bundle: what user-data pins for `fetch`. */
export function bundleSha256(bundle: Buffer): string {
  return createHash("sha256").update(bundle).digest("hex");
}

/** The chosen delivery, and why a server was left out when `auto` could not deliver one. */
export interface ClawChatChoice {
  bundle: ClawChatBundleInput;
  /** Set when `auto` installs no server: neither embedding fits nor a `bundleUrl` is given. */
  notice?: string;
}

/**
 * Picks how the ClawChat bundle reaches `base.cloud`'s host, per `install`:
 * embedded when the whole encoded user-data still fits the cloud's budget
 * (`auto`, `embedded`), otherwise fetched from `bundleUrl` and checked against
 * the bundle's SHA-256 (`auto`, `fetch`). `embedded` over budget and `fetch`
 * without a URL are refused naming the key; `auto` with neither installs no
 * server and says why in `notice` (the host components log it as a warning).
 */
export function chooseClawChatBundle(base: HostBootInput, bundle: Buffer, install: ClawChatInstall): ClawChatChoice {
  const { install: mode, bundleUrl } = install;
  if (mode === "none") return { bundle: { kind: "disabled" } };
  if (mode === "fetch") {
    if (bundleUrl === undefined) {
      throw new ConfigError(
        "clawchat.bundleUrl",
        `\`clawchat.bundleUrl\` must be an https:// URL serving clawchat/dist/clawchat.js for \`clawchat.install: fetch\`; got nothing`,
      );
    }
    return { bundle: { kind: "fetch", url: bundleUrl, sha256: bundleSha256(bundle) } };
  }
  const embedded: ClawChatBundleInput = { kind: "embedded", bundle };
  const encoded = encodeUserData(base.cloud, renderCloudConfig({ ...base, clawchatBundle: embedded }), { check: false });
  if (encoded.bytes <= USER_DATA_LIMITS[base.cloud]) return { bundle: embedded };
  const overBudget = `embedded, the ClawChat bundle makes ${base.cloud} user-data ${encoded.bytes} bytes, over the ${USER_DATA_LIMITS[base.cloud]}-byte limit`;
  if (mode === "embedded") {
    throw new ConfigError("clawchat.install", `\`clawchat.install\` cannot be embedded on ${base.cloud}: ${overBudget}; use auto or fetch with \`clawchat.bundleUrl\``);
  }
  if (bundleUrl !== undefined) return { bundle: { kind: "fetch", url: bundleUrl, sha256: bundleSha256(bundle) } };
  return {
    bundle: { kind: "disabled" },
    notice: `no ClawChat server installed on ${base.cloud} host ${base.hostname}: ${overBudget}, and \`clawchat.bundleUrl\` is not set. Set it to an https:// URL serving clawchat/dist/clawchat.js to install the server.`,
  };
}
