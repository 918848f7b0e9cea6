// Bundles support/main.ts (the host agent and the forced-command wrapper, with core/zero-access)
// into one self-contained support/dist/clawstack-support.js for Node >= 20. Run: npm run support:build
// (or `node support/build.mjs <outfile>`, as the tests do).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { chmod, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ? resolve(process.argv[2]) : join(here, "dist", "clawstack-support.js");
// The same options cloud-init uses when it builds the bundle on demand (cloud-init/support-bundle.ts).
const options = JSON.parse(readFileSync(join(here, "bundle-options.json"), "utf8"));
await build({ ...options, entryPoints: [join(here, "main.ts")], outfile, logLevel: "warning" });
await chmod(outfile, 0o755);
const { size } = await stat(outfile);
console.log(`${relative(process.cwd(), outfile) || outfile}: ${size} bytes`);
