// Bundles clawchat/src/cli.ts and everything it imports (commander included)
// into one self-contained clawchat/dist/clawchat.js for Node >= 20, with a
// shebang, so a host needs nothing but `node`. Run: npm run clawchat:build
// (or `node clawchat/build.mjs <outfile>` to write somewhere else, as the tests do).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { chmod, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ? resolve(process.argv[2]) : join(here, "dist", "clawchat.js");

// The same options the synth uses when it builds the bundle on demand (cloud-init/bundle.ts).
const options = JSON.parse(readFileSync(join(here, "bundle-options.json"), "utf8"));
await build({ ...options, entryPoints: [join(here, "src", "cli.ts")], outfile, logLevel: "warning" });
await chmod(outfile, 0o755);
const { size } = await stat(outfile);
console.log(`${relative(process.cwd(), outfile) || outfile}: ${size} bytes`);
