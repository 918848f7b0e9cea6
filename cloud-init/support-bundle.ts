import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../core/errors.js";

/** Where `npm run support:build` writes the host's support agent and wrapper (one bundle). */
export const SUPPORT_BUNDLE_FILE = resolve(__dirname, "../support/dist/clawstack-support.js");
const SUPPORT_ENTRY = resolve(__dirname, "../support/main.ts");
/** The esbuild options `support/build.mjs` uses too, so both builds give the same bytes. */
const SUPPORT_BUNDLE_OPTIONS = resolve(__dirname, "../support/bundle-options.json");

/** Builds the support bundle exactly as `support/build.mjs` does, without writing it. */
export function buildSupportBundle(): Buffer {
  let esbuild: typeof import("esbuild");
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: esbuild is a dev tool, needed only when the bundle is built here
    esbuild = require("esbuild") as typeof import("esbuild");
  } catch {
    throw new ConfigError(
      "supportAccess",
      `\`supportAccess\`: ${SUPPORT_BUNDLE_FILE} is missing and esbuild (a dev dependency) is not installed to build it; run \`npm ci\` and \`npm run support:build\``,
    );
  }
  const options = JSON.parse(readFileSync(SUPPORT_BUNDLE_OPTIONS, "utf8")) as import("esbuild").BuildOptions;
  const result = esbuild.buildSync({ ...options, entryPoints: [SUPPORT_ENTRY], outfile: SUPPORT_BUNDLE_FILE, logLevel: "silent", write: false });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no support bundle");
  return Buffer.from(output.contents);
}

/**
 * The support bundle a host with `supportAccess` gets: support/dist/clawstack-support.js when it exists,
 * otherwise built now and written there (atomically), as the ClawChat bundle is.
 */
export function loadSupportBundle(path: string = SUPPORT_BUNDLE_FILE): Buffer {
  try {
    statSync(path);
  } catch {
    const bundle = buildSupportBundle();
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, bundle, { mode: 0o755 });
    renameSync(temporary, path);
  }
  return readFileSync(path);
}
