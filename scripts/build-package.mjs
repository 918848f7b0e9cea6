// `npm run build`, after `tsc -p tsconfig.build.json`: copies the files the built
// components read at run time next to the JavaScript, at the same relative paths as
// in the repository: the host scripts the cloud-init renderer ships, and the
// ClawChat bundle (with the esbuild options it was built with) it embeds or pins.
// With `clean` (before tsc), it empties dist/ instead, so nothing of a moved or deleted module stays behind.
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");
if (process.argv[2] === "clean") {
  rmSync(dist, { recursive: true, force: true });
  process.exit(0);
}
const copies = [
  ["cloud-init/scripts", "cloud-init/scripts"],
  ["clawchat/dist/clawchat.js", "clawchat/dist/clawchat.js"],
  ["clawchat/bundle-options.json", "clawchat/bundle-options.json"],
];
for (const [from, to] of copies) {
  const source = join(root, from);
  if (!existsSync(source)) {
    console.error(`build: ${from} is missing (run \`npm run clawchat:build\` first)`);
    process.exit(1);
  }
  mkdirSync(dirname(join(dist, to)), { recursive: true });
  cpSync(source, join(dist, to), { recursive: true });
}
console.log(`build: dist/ holds the components, core and cloud-init as JavaScript with declarations`);
