#!/usr/bin/env node
// Import-cycle check over the project's TypeScript files (run by `npm run lint`): every relative
// import, export-from, dynamic import() and require(), type-only ones included (a cycle of types is
// still a design cycle, docs/architecture.md "Layers"). Prints each cycle and exits 1 if there is one.
import fs from "node:fs";
import path from "node:path";

const SKIP = new Set(["node_modules", "dist", "data", ".git"]);
const SPECIFIER = /(?:^|[\s;}])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function sourceFiles(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(file, out);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(file);
  }
  return out;
}

function resolveImport(from, specifier) {
  const base = path.join(path.dirname(from), specifier).replace(/\.js$/, "");
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    if (/\.tsx?$/.test(candidate) && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

const files = sourceFiles(".");
const graph = new Map();
for (const file of files) {
  const targets = new Set();
  for (const match of fs.readFileSync(file, "utf8").matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (!specifier.startsWith(".")) continue;
    const target = resolveImport(file, specifier);
    if (target !== undefined) targets.add(target);
  }
  graph.set(file, [...targets]);
}

// Tarjan's strongly connected components: each component of more than one file (or a file that
// imports itself) is a cycle.
let counter = 0;
const index = new Map(), low = new Map(), stack = [], onStack = new Set(), cycles = [];
function connect(file) {
  index.set(file, counter); low.set(file, counter); counter++;
  stack.push(file); onStack.add(file);
  for (const next of graph.get(file) ?? []) {
    if (!index.has(next)) { connect(next); low.set(file, Math.min(low.get(file), low.get(next))); }
    else if (onStack.has(next)) low.set(file, Math.min(low.get(file), index.get(next)));
  }
  if (low.get(file) === index.get(file)) {
    const component = [];
    let member;
    do { member = stack.pop(); onStack.delete(member); component.push(member); } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  }
}
for (const file of files) if (!index.has(file)) connect(file);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.join(" <-> ")}`);
  process.exit(1);
}
console.log(`check-cycles: ${files.length} files, no import cycle`);
