import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { ConfigError } from "../core/errors.js";
import { CLAWCHAT_AEAD_ADDON_MARKER } from "../core/presets.js";
import { encodeUserData, USER_DATA_LIMITS } from "./encode.js";
import { renderResolvedCloudConfig } from "./render.js";
import { checkClawChatBundle, resolveBootInput } from "./validate.js";
import type { ClawChatBundleInput, HostBootInput } from "./types.js";
import type { ClawChatInstall } from "../core/host-config.js";

/** Where `npm run clawchat:build` writes the self-contained server bundle. */
export const CLAWCHAT_BUNDLE_PATH = resolve(__dirname, "../clawchat/dist/clawchat.js");
const CLAWCHAT_ENTRY = resolve(__dirname, "../clawchat/src/cli.ts");
/** The esbuild options `clawchat/build.mjs` uses too, so both builds give the same bytes. */
const CLAWCHAT_BUNDLE_OPTIONS = resolve(__dirname, "../clawchat/bundle-options.json");

/** Where `clawchat/native/build.mjs` writes the AES-GCM addon the bundle carries. */
export const CLAWCHAT_AEAD_ADDON_PATH = resolve(__dirname, "../clawchat/dist/clawchat-aead.node");

/**
 * The esbuild `define` that puts the addon into the bundle (base64), as
 * `clawchat/build.mjs` does: the addon when it was built, else nothing (the
 * bundle then seals with node:crypto).
 */
export function clawchatAddonDefine(addonPath: string = CLAWCHAT_AEAD_ADDON_PATH): Record<string, string> {
  const addon = existsSync(addonPath) ? readFileSync(addonPath).toString("base64") : undefined;
  return { CLAWCHAT_AEAD_ADDON: addon === undefined ? "undefined" : JSON.stringify(`${CLAWCHAT_AEAD_ADDON_MARKER}${addon}`) };
}

/** The one string literal a bundle carries its addon in (the build's `define`, marked). */
const ADDON_LITERAL = new RegExp(`"${CLAWCHAT_AEAD_ADDON_MARKER}[A-Za-z0-9+/]+={0,2}"`, "g");

/**
 * The same bundle without its AES-GCM addon (the marked literal replaced by `void 0`, so the server
 * seals with node:crypto and says so), or undefined when it carries none. About 10 KB less in
 * user-data: the synth embeds this when the whole bundle would not fit (see `renderHostCloudConfig`).
 */
export function withoutAeadAddon(bundle: Buffer): Buffer | undefined {
  const text = bundle.toString("utf8");
  const lean = text.replace(ADDON_LITERAL, "void 0");
  return lean === text ? undefined : Buffer.from(lean, "utf8");
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
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: esbuild is a dev tool, needed only when the bundle is built here
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
    define: clawchatAddonDefine(),
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

/**
 * User-data left free when `auto` embeds the ClawChat bundle: an eighth of each cloud's limit (DigitalOcean
 * 8 KiB of its 65,536 bytes, where the embedded bundle alone takes most of the rest; AWS 2 KiB; GCP 32 KiB).
 * `auto` fetches the bundle (from `bundleUrl`) rather than leave less room than this.
 */
export const USER_DATA_HEADROOM_BYTES: Record<HostBootInput["cloud"], number> = {
  digitalocean: USER_DATA_LIMITS.digitalocean / 8,
  aws: USER_DATA_LIMITS.aws / 8,
  gcp: USER_DATA_LIMITS.gcp / 8,
};

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

/** A host's cloud-config, rendered once, with the ClawChat delivery it carries. */
export interface HostCloudConfig extends ClawChatChoice {
  cloudConfig: string;
}

/**
 * Checks `base` once (`resolveBootInput`), picks how the ClawChat bundle
 * reaches `base.cloud`'s host per `install`, and renders the cloud-config
 * once. Embedded when the whole encoded user-data still fits the cloud's
 * budget (`auto`, `embedded`), otherwise fetched from `bundleUrl` and checked
 * against the bundle's SHA-256 (`auto`, `fetch`). `embedded` over budget and
 * `fetch` without a URL are refused naming the key; `auto` with neither
 * installs no server and says why in `notice` (the host components log it as
 * a warning). The bundle is loaded only when a server is to be installed.
 *
 * Embedding is tried (rendered and measured) only when it can fit: an
 * embedded bundle never takes less room in user-data than its own gzip, so a
 * bundle whose gzip is over the budget goes straight to the fallback. When
 * the try fits, its text is the result; a render is thrown away only when a
 * bundle under that bound still does not fit.
 */
export function renderHostCloudConfig(base: HostBootInput, install: ClawChatInstall, loadBundle: () => Buffer): HostCloudConfig {
  const resolved = resolveBootInput({ ...base, clawchatBundle: { kind: "disabled" } });
  const render = (bundle: ClawChatBundleInput, notice?: string): HostCloudConfig => ({
    bundle,
    ...(notice === undefined ? {} : { notice }),
    cloudConfig: renderResolvedCloudConfig({ ...resolved, clawchatBundle: checkClawChatBundle(bundle) }),
  });
  const { install: mode, bundleUrl } = install;
  if (mode === "none") return render({ kind: "disabled" });
  const bundle = loadBundle();
  if (mode === "fetch") {
    if (bundleUrl === undefined) {
      throw new ConfigError(
        "clawchat.bundleUrl",
        `\`clawchat.bundleUrl\` must be an https:// URL serving clawchat/dist/clawchat.js for \`clawchat.install: fetch\`; got nothing`,
      );
    }
    return render({ kind: "fetch", url: bundleUrl, sha256: bundleSha256(bundle) });
  }
  // `auto` embeds only while USER_DATA_HEADROOM_BYTES stay free, so a host that only just fits today
  // still fits one more feature; `embedded` (asked for in so many words) may use the whole limit.
  const limit = USER_DATA_LIMITS[base.cloud] - (mode === "auto" ? USER_DATA_HEADROOM_BYTES[base.cloud] : 0);
  const budget = mode === "auto" ? "budget (the limit less the headroom kept free)" : "limit";
  /** The rendered config when `candidate` embedded fits, else why not. */
  const tryEmbedding = (candidate: Buffer): HostCloudConfig | string => {
    const leastEmbeddedBytes = gzipSync(candidate, { level: 9 }).length;
    if (leastEmbeddedBytes > limit) {
      return `embedded, the ClawChat bundle makes ${base.cloud} user-data at least ${leastEmbeddedBytes} bytes (its own gzip), over the ${limit}-byte ${budget}`;
    }
    const embedded = render({ kind: "embedded", bundle: candidate });
    const encoded = encodeUserData(base.cloud, embedded.cloudConfig, { check: false });
    if (encoded.bytes <= limit) return embedded;
    return `embedded, the ClawChat bundle makes ${base.cloud} user-data ${encoded.bytes} bytes, over the ${limit}-byte ${budget}`;
  };
  const whole = tryEmbedding(bundle);
  if (typeof whole !== "string") return whole;
  let overBudget = whole;
  // `auto` with a URL fetches the whole bundle (with its AES-GCM addon) rather than embed it without.
  if (mode === "auto" && bundleUrl !== undefined) return render({ kind: "fetch", url: bundleUrl, sha256: bundleSha256(bundle) });
  // The bundle without its AES-GCM addon (about 10 KB less): the server then seals with node:crypto.
  const lean = withoutAeadAddon(bundle);
  if (lean !== undefined) {
    const leaner = tryEmbedding(lean);
    if (typeof leaner !== "string") {
      return {
        ...leaner,
        notice:
          `the ClawChat server on ${base.cloud} host ${base.hostname} is embedded without its AES-GCM addon (${whole}), so it seals packets ` +
          "with node:crypto, about half as fast per packet (docs/clawchat.md). To give it the addon, set `clawchat.install: fetch` with `clawchat.bundleUrl`.",
      };
    }
    overBudget = `${whole}; without its AES-GCM addon still ${leaner.replace(/^embedded, the ClawChat bundle makes /, "")}`;
  }
  if (mode === "embedded") {
    throw new ConfigError("clawchat.install", `\`clawchat.install\` cannot be embedded on ${base.cloud}: ${overBudget}; use auto or fetch with \`clawchat.bundleUrl\``);
  }
  return render(
    { kind: "disabled" },
    `no ClawChat server installed on ${base.cloud} host ${base.hostname}: ${overBudget}, and \`clawchat.bundleUrl\` is not set. Set it to an https:// URL serving clawchat/dist/clawchat.js to install the server.`,
  );
}

/** The ClawChat delivery `renderHostCloudConfig` picks for `base` (tests and callers that need only the choice). */
export function chooseClawChatBundle(base: HostBootInput, bundle: Buffer, install: ClawChatInstall): ClawChatChoice {
  const { bundle: chosen, notice } = renderHostCloudConfig(base, install, () => bundle);
  return notice === undefined ? { bundle: chosen } : { bundle: chosen, notice };
}
