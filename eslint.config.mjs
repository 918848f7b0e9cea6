// ESLint: a small rule set that keeps the layers of docs/architecture.md ("Layers"), not a style guide.
// - layers: `import-x/no-restricted-paths` zones built from LAYERS below (resolved paths, so `../x`,
//   `./x.js` and dynamic `import()` are all checked);
// - no cycles: scripts/check-cycles.mjs, run by `npm run lint` (whole-graph, faster than import-x/no-cycle);
// - import extensions: one style per folder (EXTENSION_STYLE);
// - a few typescript-eslint rules that the code's `eslint-disable` comments refer to, and unused
//   disable comments are errors.
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/** Every top-level part of the project that code lives in. */
const PARTS = [
  "core", "cloud-init", "components", "runtime", "program", "policies", "firmware-images", "clawchat",
  "api", "web", "scripts", "index.ts", "boot", "bench", "tests", "examples", "support",
];
const ENTRY_POINT_MAY_IMPORT = ["program", "runtime", "components", "cloud-init", "core"];

/**
 * What each part may import (docs/architecture.md, "Layers"). Parts not listed (boot, bench, tests,
 * examples: the top) may import anything. `only` narrows an allowed part to some of its files.
 */
const LAYERS = {
  core: [],
  "cloud-init": ["core"],
  components: ["cloud-init", "core"],
  runtime: ["components", "core"],
  program: ["runtime", "components", "cloud-init", "core"],
  // The ClawChat bundle runs on the hosts and carries nothing of the project but its port range.
  clawchat: [{ part: "core", only: ["presets.ts"] }],
  // The host's support agent and forced-command wrapper (one bundle on the host): the zero-access crypto
  // and the validators, nothing else of the project.
  support: [
    {
      part: "core",
      only: [
        "zero-access/support-grant.ts", "zero-access/gateway-admin-grant.ts", "zero-access/sealed-box.ts", "zero-access/user-keys.ts", "zero-access/encoding.ts",
        "zero-access/webcrypto-types.ts", "validation.ts", "errors.ts", "presets.ts",
      ],
    },
  ],
  // Entry points and CLIs: everything below.
  api: [
    ...ENTRY_POINT_MAY_IMPORT,
    // Documented flow ("Offline synth": the API's preview endpoint runs the policy reviewer), a sideways
    // edge inside the entry-point layer, kept to this one module.
    { part: "policies", only: ["review.ts"] },
  ],
  policies: ENTRY_POINT_MAY_IMPORT,
  "firmware-images": ENTRY_POINT_MAY_IMPORT,
  scripts: ENTRY_POINT_MAY_IMPORT,
  "index.ts": ENTRY_POINT_MAY_IMPORT,
  // The dashboard bundle: the API's pure schema modules (zod only), the host config parser, core.
  web: [
    "core",
    { part: "program", only: ["host-config.ts"] },
    {
      part: "api",
      only: [
        "http/schemas.ts", "http/instance-body.ts", "http/bounded-json.ts", "auth/principal.ts",
        "vault/kinds.ts", "jobs/views.ts", "routes/views.ts",
      ],
    },
  ],
};

/**
 * Known violations of the layers, each named and to be removed, never a folder-wide allowance.
 * Key: the importing file; value: the parts it may import beyond its layer.
 */
const KNOWN_VIOLATIONS = {
  // The demo (a CLI) starts a local host with the boot harness (boot/ sits at the top, with tests).
  "api/demo/local-host.ts": ["boot"],
};

const pathOf = (part) => (part.endsWith(".ts") ? `./${part}` : `./${part}/`);

function zonesFor(target, extra = []) {
  const allowed = [...(LAYERS[target] ?? []), ...extra];
  const zones = [];
  for (const part of PARTS) {
    if (part === target) continue;
    const rule = allowed.find((a) => (typeof a === "string" ? a : a.part) === part);
    if (rule === undefined) {
      zones.push({
        target: pathOf(target),
        from: pathOf(part),
        message: `\`${target}\` may not import \`${part}\` (docs/architecture.md, "Layers").`,
      });
    } else if (typeof rule === "object") {
      zones.push({
        target: pathOf(target),
        from: pathOf(part),
        except: rule.only.map((file) => `./${file}`),
        message: `\`${target}\` may import only ${rule.only.join(", ")} of \`${part}\` (docs/architecture.md, "Layers").`,
      });
    }
  }
  return zones;
}

const layerBlocks = Object.keys(LAYERS).map((part) => ({
  files: part.endsWith(".ts") ? [part] : [`${part}/**/*.{ts,tsx}`],
  rules: { "import-x/no-restricted-paths": ["error", { zones: zonesFor(part) }] },
}));
const violationBlocks = Object.entries(KNOWN_VIOLATIONS).map(([file, extra]) => ({
  files: [file],
  rules: { "import-x/no-restricted-paths": ["error", { zones: zonesFor(file.split("/")[0], extra) }] },
}));

/**
 * Relative import specifiers: with the `.js` suffix in these folders, without it everywhere else
 * (tsconfig's `module: node20` compiles the project as CommonJS, where both resolve). The majority of
 * the project (about three in four imports) writes none.
 */
const JS_SUFFIX_FOLDERS = [
  "core", "cloud-init", "components", "runtime", "program", "boot", "scripts", "index.ts", "support",
  "tests/components/access", "tests/components/host", "tests/runtime", "tests/support", "tests/boot", "tests/cloud-init", "tests/core", "tests/program",
];
const RELATIVE = String.raw`^\.{1,2}[/]`;
// A dynamic `import()` always ends in `.js`: tsc (node16 resolution) resolves it as an ES import.
const sourceSelectors = (regex, nodes = ["ImportDeclaration", "ExportNamedDeclaration", "ExportAllDeclaration"]) =>
  nodes.map(
    (node) => `${node}[source.value=/${regex}/]`,
  );
const extensionRule = (withJs) => ({
  "no-restricted-syntax": [
    "error",
    ...(withJs
      ? sourceSelectors(`${RELATIVE}(?!.*\\.(js|json|mjs|cjs)$)`, undefined).concat(
          sourceSelectors(`${RELATIVE}(?!.*\\.(js|json|mjs|cjs)$)`, ["ImportExpression"]),
        )
      : sourceSelectors(`${RELATIVE}.*\\.js$`)
    ).map((selector) => ({
      selector,
      message: withJs
        ? "Relative imports in this folder end in `.js` (eslint.config.mjs, JS_SUFFIX_FOLDERS)."
        : "Relative imports in this folder have no `.js` suffix (eslint.config.mjs, JS_SUFFIX_FOLDERS).",
    })),
  ],
});
const jsSuffixFiles = JS_SUFFIX_FOLDERS.map((f) => (f.endsWith(".ts") ? f : `${f}/**/*.{ts,tsx}`));

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**", "**/dist/**", "data/**", "**/*.d.ts", "**/*.js", "**/*.mjs", "**/*.cjs",
    ],
  },
  {
    files: ["**/*.{ts,tsx}"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "@typescript-eslint": tseslint.plugin, "import-x": importX },
    settings: {
      "import-x/resolver-next": [
        createTypeScriptImportResolver({ project: ["tsconfig.json", "web/tsconfig.json"], noWarnOnMultipleProjects: true }),
      ],
    },
    rules: {
      "@typescript-eslint/no-require-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-empty-object-type": ["error", { allowInterfaces: "with-single-extends" }],
      "import-x/no-unresolved": "error",
      ...extensionRule(false),
    },
  },
  { files: jsSuffixFiles, rules: extensionRule(true) },
  // The example program imports the package by its published name (`clawstack/components`), which resolves
  // only once it is built and linked (tests/package/components-example.test.ts does both, then type-checks
  // and synthesizes it): a fresh clone has neither, so that name is not resolved here.
  { files: ["examples/**/*.{ts,tsx}"], rules: { "import-x/no-unresolved": ["error", { ignore: ["^clawstack(/|$)"] }] } },
  ...layerBlocks,
  ...violationBlocks,
);
