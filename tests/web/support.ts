/**
 * The browser suite's harness: the real API (`api/server.ts`, as `npm start` runs it) on a fresh
 * data directory and a free port, Debian's Chromium driven by playwright-core (never a downloaded
 * browser), a page watcher that fails on CSP violations and console errors, axe-core injected for
 * an accessibility check, and screenshots under .cache/screens/ (gitignored).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";

export const ROOT = resolve(__dirname, "..", "..");
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENS_DIR = join(ROOT, ".cache", "screens");

/** Flags that keep Chromium off the network and quiet in a container. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Why the suite cannot run here (printed), or undefined; CLAWSTACK_REQUIRE_TOOLS=1 turns it into a failure. */
export function missingBrowser(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `${CHROMIUM} is not installed (apt-get install chromium): the browser suite is skipped`;
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") throw new Error(`CLAWSTACK_REQUIRE_TOOLS=1: ${reason}`);
  console.warn(reason);
  return reason;
}

/** The dashboard's static files, built once if a direct vitest run skipped `pretest`. */
export function ensureDashboardBuilt(): void {
  if (existsSync(join(ROOT, "web", "dist", "index.html"))) return;
  const build = spawnSync(process.execPath, [join(ROOT, "web", "build.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`web build failed: ${build.stderr}`);
}

export interface RunningApi {
  url: string;
  dataDir: string;
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

const SERVER_ENV = {
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: "info",
  CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
  CLAWSTACK_ARGON2_TIME_COST: "1",
  CLAWSTACK_RATE_LIMIT: "100000",
  CLAWSTACK_LOGIN_RATE_LIMIT: "1000",
  CLAWSTACK_SNAPSHOT_INTERVAL_MS: "0",
};

/** The environment the server of `startServer` runs with (a test opening its database uses the same). */
export function serverEnv(server: Pick<RunningApi, "dataDir">): Record<string, string | undefined> {
  return { ...process.env, ...SERVER_ENV, CLAWSTACK_DATA_DIR: server.dataDir };
}

/** `node --import tsx api/server.ts` (what `npm start` runs after building the dashboard) on a fresh data directory. */
export async function startServer(): Promise<RunningApi> {
  const dataDir = mkdtempSync(join(tmpdir(), "clawstack-web-"));
  const env = serverEnv({ dataDir });
  const child = spawn(process.execPath, ["--import", "tsx", "api/server.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API did not start in 60 s:\n${output.join("")}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString("utf8"));
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(""));
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    child.once("exit", (code) => reject(new Error(`the API exited with ${code}:\n${output.join("")}`)));
  });
  return {
    url,
    dataDir,
    process: child,
    output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `admin-cli create-admin` in the server's environment, the password on stdin (as an operator does it). */
export function createAdmin(server: RunningApi, email: string, password: string): void {
  const result = spawnSync(process.execPath, ["--import", "tsx", "api/auth/admin-cli.ts", "create-admin", email], {
    cwd: ROOT,
    env: serverEnv(server),
    input: `${password}\n`,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`create-admin failed: ${result.stderr}`);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Everything a page reports that the test must fail on: CSP violations (the DOM event and
 * Chromium's console message), script errors, console errors. The API's own 4xx answers (a wrong
 * field, shown on the form) are logged by Chromium as "Failed to load resource"; they are expected
 * UI paths, counted apart; a 5xx is a failure.
 */
export interface PageProblems {
  problems: string[];
  clientErrors: string[];
}

export async function watch(page: Page): Promise<PageProblems> {
  const seen: PageProblems = { problems: [], clientErrors: [] };
  // Page-side code is given as text: this project's TypeScript has no DOM library.
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (event) => {
      console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI + " (" + event.sourceFile + ":" + event.lineNumber + ")");
    });`,
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) seen.clientErrors.push(text);
    else seen.problems.push(`console error: ${text}`);
  });
  page.on("pageerror", (error) => seen.problems.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 500) seen.problems.push(`${response.status()} from ${response.url()}`);
  });
  return seen;
}

const AXE_SOURCE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's WCAG checks on the page as it is now; returns the serious and critical findings.
 * Injected with `evaluate` (DevTools protocol), which the page's CSP does not govern, so the check
 * itself causes no violation.
 */
export async function axeCheck(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate<AxeFinding[]>(`(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, targets: violation.nodes.map((node) => node.target.join(" ")) }));
  })()`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENS_DIR, { recursive: true });
  const path = join(SCREENS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
