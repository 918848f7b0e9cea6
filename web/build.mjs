// Builds the web dashboard: web/src/main.tsx (Preact) and web/src/app.css into
// web/dist/ (gitignored): index.html, assets/app-<hash>.js, assets/app-<hash>.css.
// No inline script or style (the page's CSP forbids them), nothing loaded from elsewhere.
// Prints the gzipped weight and fails above the budget. Run: npm run web:build
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
/** The shipped JavaScript, gzipped, must stay below this (issue 16). */
const BUDGET_GZIP_BYTES = 150 * 1024;

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: join(dist, "assets"),
  metafile: true,
  legalComments: "linked",
  // The API's schema modules and the host config parser are shared with the server: anything
  // Node-only would fail here, except `node:net`'s two address checks (Node's own expressions).
  platform: "browser",
  alias: { "node:net": join(here, "src", "shims", "node-net.ts") },
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => relative(dist, path));
const script = outputs.find((path) => path.endsWith(".js"));
const style = outputs.find((path) => path.endsWith(".css"));
if (!script || !style) throw new Error(`web build: expected one script and one style sheet, got ${outputs.join(", ")}`);

writeFileSync(
  join(dist, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Claw Cloud</title>
<link rel="stylesheet" href="/${style}">
<script type="module" src="/${script}"></script>
</head>
<body>
<noscript>The Claw Cloud dashboard needs JavaScript. The API itself is documented at /openapi.json.</noscript>
<div id="app"></div>
</body>
</html>
`,
);

let total = 0;
for (const path of [script, style]) {
  const bytes = readFileSync(join(dist, path));
  const gz = gzipSync(bytes, { level: 9 }).length;
  if (path === script) total = gz;
  console.log(`web/dist/${path}: ${bytes.length} bytes, ${gz} bytes gzipped`);
}
if (total > BUDGET_GZIP_BYTES) {
  console.error(`web build: the script is ${total} bytes gzipped, over the ${BUDGET_GZIP_BYTES} byte budget`);
  process.exit(1);
}
