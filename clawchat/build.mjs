// Bundles clawchat/src/cli.ts and everything it imports (commander included)
// into one self-contained clawchat/dist/clawchat.js for Node >= 20, with a
// shebang, so a host needs nothing but `node`. Run: npm run clawchat:build
// (or `node clawchat/build.mjs <outfile>` to write somewhere else, as the tests do). It compiles
// the AES-GCM addon first (clawchat/native/build.mjs) and carries it inside the bundle.
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { chmod, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AEAD_ADDON_PATH, buildAeadAddon } from "./native/build.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ? resolve(process.argv[2]) : join(here, "dist", "clawchat.js");

// The same options the synth uses when it builds the bundle on demand (cloud-init/bundle.ts).
const options = JSON.parse(readFileSync(join(here, "bundle-options.json"), "utf8"));
// The AES-GCM addon first (clawchat/native/build.mjs); the bundle carries it in base64, as
// cloud-init/bundle.ts does when the synth builds the bundle (`clawchatAddonDefine`).
buildAeadAddon();
const addon = existsSync(AEAD_ADDON_PATH) ? readFileSync(AEAD_ADDON_PATH).toString("base64") : undefined;
// The marker is CLAWCHAT_AEAD_ADDON_MARKER of core/presets.ts (this file cannot import TypeScript; the
// same-bytes test in tests/cloud-init/bundle.test.ts pins the two): the synth finds the addon by it to leave it out.
const define = { CLAWCHAT_AEAD_ADDON: addon === undefined ? "undefined" : JSON.stringify(`clawchat-aead-v1:${addon}`) };
await build({ ...options, define, entryPoints: [join(here, "src", "cli.ts")], outfile, logLevel: "warning" });
await chmod(outfile, 0o755);
const { size } = await stat(outfile);
console.log(`${relative(process.cwd(), outfile) || outfile}: ${size} bytes`);
