/**
 * The dashboard in real Chromium against the real API (a fresh data directory, a free port):
 * invitation → register → add a credential → create an instance → watch its progress → the
 * preview's plan and findings → destroy; a second user sees nothing of the first's. Every screen
 * gets axe-core's check (no serious or critical finding) and a screenshot in .cache/screens/;
 * a CSP violation, a script error or a console error fails the test.
 */
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../api/audit/audit-log";
import { loadConfig } from "../../api/config";
import { openDatabase } from "../../api/db/connect";
import { newId } from "../../api/db/ids";
import {
  axeCheck,
  createAdmin,
  ensureDashboardBuilt,
  launchChromium,
  missingBrowser,
  type PageProblems,
  type RunningApi,
  screenshot,
  serverEnv,
  startServer,
  watch,
} from "./support";

const skipReason = missingBrowser();
const DO_TOKEN = `dop_v1_${randomBytes(32).toString("hex")}`;
const ADMIN = { email: "admin@example.com", password: `admin-${randomBytes(9).toString("base64url")}` };
const ALICE = { email: "alice@example.com", password: `alice-${randomBytes(9).toString("base64url")}` };
const BOB = { email: "bob@example.com", password: `bob-${randomBytes(9).toString("base64url")}` };

describe.skipIf(skipReason !== undefined)("the dashboard in Chromium", () => {
  let server: RunningApi;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const watched: { name: string; seen: PageProblems }[] = [];
  const accessibility: Record<string, unknown[]> = {};
  let aliceInstanceId = "";
  let aliceJobId = "";

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startServer();
    createAdmin(server, ADMIN.email, ADMIN.password);
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  async function newPage(name: string): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watched.push({ name, seen: await watch(page) });
    return { page, context };
  }

  /** axe-core and a screenshot of the screen as it is now. */
  async function checkScreen(page: Page, name: string): Promise<void> {
    await page.waitForLoadState("networkidle").catch(() => undefined);
    accessibility[name] = await axeCheck(page);
    await screenshot(page, name);
  }

  async function signIn(page: Page, account: { email: string; password: string }): Promise<void> {
    await page.goto(`${server.url}/#/sign-in`);
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password", { exact: true }).fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Instances" }).waitFor();
  }

  /** Writes into the server's database what a worker or the health checker would (an instance deployed, stopped...). */
  async function onDatabase(run: (db: ReturnType<typeof openDatabase>["db"]) => Promise<unknown>): Promise<void> {
    const handle = openDatabase(loadConfig(serverEnv(server)).database);
    try {
      await run(handle.db);
    } finally {
      await handle.close();
    }
  }

  async function invite(page: Page, email: string): Promise<string> {
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
    await page.getByLabel("Email to invite").fill(email);
    await page.getByRole("button", { name: "Invite" }).click();
    const token = (await page.getByTestId("invite-token").textContent())?.trim() ?? "";
    expect(token).toMatch(/^csi_[A-Za-z0-9_-]{43}$/);
    return token;
  }

  it("serves the page with the strict policy and keeps the API's own", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son\w+=/i);
    const api = await fetch(`${server.url}/v1/me`);
    expect(api.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    const unknown = await fetch(`${server.url}/nothing-here`);
    expect(unknown.status).toBe(404);
  });

  it("invitation → register → credential → create → progress → preview with findings → destroy", async () => {
    // The admin invites Alice.
    const admin = await newPage("admin");
    await admin.page.goto(`${server.url}/`);
    await admin.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await checkScreen(admin.page, "01-sign-in");
    await signIn(admin.page, ADMIN);
    const token = await invite(admin.page, ALICE.email);
    await checkScreen(admin.page, "02-admin");
    await admin.page.getByRole("button", { name: "Sign out", exact: true }).click();
    await admin.page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    // Signing out cleared both cookies.
    expect((await admin.context.cookies()).filter((cookie) => cookie.value !== "")).toEqual([]);

    // Alice registers: a wrong email for the invitation is refused on the invitation field, and nothing typed is lost.
    const { page, context } = await newPage("alice");
    await page.goto(`${server.url}/#/register`);
    await page.getByLabel("Invitation token").fill(token);
    await page.getByLabel("Email").fill("mallory@example.com");
    await page.getByLabel("Password", { exact: true }).fill(ALICE.password);
    await page.getByLabel("Password again").fill(ALICE.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.getByLabel("Invitation token").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByRole("alert").first().textContent()).toContain("invite");
    expect(await page.getByLabel("Invitation token").inputValue()).toBe(token);
    expect(await page.getByLabel("Password", { exact: true }).inputValue()).toBe(ALICE.password);
    await checkScreen(page, "03-register-error");
    await page.getByLabel("Email").fill(ALICE.email);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Account created" }).waitFor();
    await signIn(page, ALICE);
    await checkScreen(page, "04-instances-empty");
    // The refresh token is in an HttpOnly cookie only; the page's script cannot read it.
    const cookies = await context.cookies();
    const refresh = cookies.find((cookie) => cookie.name === "__Secure-clawstack-refresh");
    expect(refresh).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/v1/auth/session" });
    expect(await page.evaluate<string>("document.cookie")).not.toContain("clawstack-refresh");
    // A reload keeps the session (one refresh through the cookie); the access token lived in memory only.
    expect(await page.evaluate<string>("JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })")).toBe("{}{}");
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Instances" }).waitFor();

    // A credential: a malformed token is refused on its field, the name stays; then a well-formed one.
    await page.getByRole("link", { name: "Credentials" }).click();
    await page.getByRole("heading", { level: 1, name: "Credentials" }).waitFor();
    await page.getByLabel("Name").fill("my DigitalOcean");
    await page.getByLabel("Token").fill("not-a-token");
    await page.getByRole("button", { name: "Add credential" }).click();
    await expect.poll(() => page.getByLabel("Token").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Name").inputValue()).toBe("my DigitalOcean");
    await page.getByLabel("Token").fill(DO_TOKEN);
    await page.getByRole("button", { name: "Add credential" }).click();
    await page.getByRole("cell", { name: "my DigitalOcean", exact: true }).waitFor();
    expect(await page.content()).not.toContain(DO_TOKEN.slice(7));
    await checkScreen(page, "05-credentials");

    // Create an instance: the host config parser runs in the browser first (no CIDR: refused on its field).
    await page.getByRole("link", { name: "Instances" }).click();
    await page.getByRole("link", { name: "New instance" }).click();
    await page.getByRole("heading", { level: 1, name: "New instance" }).waitFor();
    await page.getByLabel("OpenClaw version").fill("1.2.3");
    await page.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByLabel("Gateway allowed from (CIDRs)").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("OpenClaw version").inputValue()).toBe("1.2.3");
    await checkScreen(page, "06-create-error");
    await page.getByLabel("Gateway allowed from (CIDRs)").fill("203.0.113.0/24");
    // Snapshots off: a deliberate opt-out the policy pack reports (advisory) in the preview.
    await page.getByLabel("Snapshots").selectOption("off");
    // The API's refusal of the preview (no AWS credential) lands on the Cloud field; nothing typed is lost.
    let plans = 0;
    page.on("request", (request) => {
      if (request.url().endsWith("/v1/instances/plan")) plans += 1;
    });
    await page.getByLabel("Cloud").selectOption("aws");
    await page.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByLabel("Cloud").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByRole("alert").filter({ hasText: "aws" }).count()).toBeGreaterThan(0);
    expect(plans).toBe(1); // the CIDR refusal above was the browser's own: nothing was sent for it
    expect(await page.getByLabel("Gateway allowed from (CIDRs)").inputValue()).toBe("203.0.113.0/24");
    expect(await page.getByLabel("OpenClaw version").inputValue()).toBe("1.2.3");
    await page.getByLabel("Cloud").selectOption("digitalocean");
    expect(await page.getByRole("button", { name: "Create" }).count()).toBe(0);
    // A mandatory finding (added by the test to the API's real answer: no valid request yields one) refuses Create.
    await page.route("**/v1/instances/plan", async (route) => {
      const response = await route.fetch();
      const answer = (await response.json()) as { preview: { violations: unknown[]; mandatoryViolations: number } };
      answer.preview.violations.push({ policy: "preflight:test.mandatory", enforcement: "mandatory", message: "the cloud would refuse this (test)" });
      answer.preview.mandatoryViolations += 1;
      await route.fulfill({ response, json: answer });
    });
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { level: 1, name: "Review the new instance" }).waitFor({ timeout: 60_000 });
    await page.getByRole("heading", { name: "Mandatory: 1" }).waitFor();
    await page.getByRole("list", { name: "Mandatory findings" }).getByText("preflight:test.mandatory").waitFor();
    expect(await page.getByRole("button", { name: "Create" }).isDisabled()).toBe(true);
    await page.getByText("The plan has mandatory findings: the stack would be refused.").waitFor();
    await page.unroute("**/v1/instances/plan");
    // Back to the form keeps every value.
    await page.getByRole("button", { name: "Back to the form" }).click();
    expect(await page.getByLabel("Gateway allowed from (CIDRs)").inputValue()).toBe("203.0.113.0/24");
    expect(await page.getByLabel("Snapshots").inputValue()).toBe("off");
    // Preview: the offline plan by resource type and the findings, before anything exists; Create only here.
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { level: 1, name: "Review the new instance" }).waitFor({ timeout: 60_000 });
    const planned = Number(/Plan: (\d+) resources/.exec((await page.getByRole("heading", { name: /^Plan: \d+ resources/ }).textContent()) ?? "")?.[1]);
    expect(planned).toBeGreaterThan(3);
    await page.getByRole("cell", { name: "digitalocean:index/droplet:Droplet" }).waitFor();
    await page.getByRole("heading", { name: "Mandatory: 0" }).waitFor();
    const advisory = Number(/Advisory: (\d+)/.exec((await page.getByRole("heading", { name: /^Advisory: \d+/ }).textContent()) ?? "")?.[1]);
    expect(advisory).toBeGreaterThan(0);
    await page.getByRole("list", { name: "Advisory findings" }).getByText("stack-snapshots-opted-out").waitFor();
    expect(await page.getByRole("button", { name: "Create" }).isEnabled()).toBe(true);
    // Nothing was created by the preview.
    await onDatabase(async (db) => expect(await db.selectFrom("instances").select("id").execute()).toEqual([]));
    await checkScreen(page, "07-create-review");
    await page.getByRole("button", { name: "Create" }).click();

    // The instance page: the up job's live progress.
    await page.waitForURL(/#\/instances\/inst_[0-9a-f]{32}/);
    aliceInstanceId = /inst_[0-9a-f]{32}/.exec(page.url())![0];
    aliceJobId = /job=(job_[A-Za-z0-9_-]{22})/.exec(page.url())![1]!;
    await page.getByRole("heading", { name: /^up job/ }).waitFor();
    // The up job ends (here without the Pulumi CLI: failed at once, saying what to install); its events were streamed.
    await page.locator(".job").filter({ hasText: "up job" }).locator(".badge.state-failed, .badge.state-succeeded").waitFor({ timeout: 60_000 });
    expect(await page.locator(".job").filter({ hasText: "up job" }).locator(".events li").count()).toBeGreaterThan(0);
    // A preview of the instance itself: its plan and findings in its job's panel.
    await page.getByRole("button", { name: "Preview plan and findings" }).click();
    await page.getByRole("heading", { name: /^Plan: \d+ resources/ }).waitFor({ timeout: 90_000 });
    const findings = (await page.getByRole("heading", { name: /^Policy findings/ }).textContent()) ?? "";
    expect(Number(/Policy findings: (\d+)/.exec(findings)?.[1])).toBeGreaterThan(0);
    expect(await page.locator(".job .finding").count()).toBeGreaterThan(0);
    // The jobs list: newest first, with states; a link opens a job's progress on this page.
    const jobsTable = page.getByTestId("instance-jobs");
    await expect.poll(async () => (await jobsTable.locator("tbody tr").allTextContents()).map((row) => /^([a-z]+)job_/.exec(row)?.[1])).toEqual(["preview", "up"]);
    await jobsTable.locator("tbody tr").first().locator(".badge.state-succeeded").waitFor();
    await jobsTable.locator("tbody tr").nth(1).locator(".badge.state-failed").waitFor();
    await page.goto(`${server.url}/#/instances/${aliceInstanceId}`);
    await page.reload();
    await page.getByRole("heading", { name: /^preview job/ }).waitFor();
    expect(await page.getByRole("heading", { name: /^up job/ }).count()).toBe(0);
    await page.getByRole("link", { name: `Events of the up job ${aliceJobId}` }).click();
    await page.getByRole("heading", { name: /^up job/ }).waitFor();
    expect(page.url()).toContain(`job=${aliceJobId}`);
    // Chat goes through the gateway proxy once the host registered; until then the panel says so.
    await page.getByRole("status").filter({ hasText: "Chat opens once the host has registered" }).waitFor();
    expect(await page.getByLabel("Message").isDisabled()).toBe(true);
    // Alice made no device key before creating it: the instance pins none and accepts no support grant.
    await page.getByText("(no device key is pinned on this instance: it accepts no grant)").waitFor();
    expect(await page.getByRole("button", { name: "Grant access – expires in 24h" }).isDisabled()).toBe(true);
    await checkScreen(page, "08-instance");

    // Power: nothing is deployed after the failed up, so the buttons are off, saying why.
    for (const name of ["Stop", "Start", "Reboot"]) expect(await page.getByRole("button", { name, exact: true }).isDisabled()).toBe(true);
    await page.getByText("Power actions need a deployed host: run up first.").waitFor();
    // Snapshots: the schedule the stack was created with (off), and no state disk to list yet.
    const snapshotsPanel = page.getByTestId("snapshots-panel");
    await snapshotsPanel.getByText("Schedule: off (the stack turned snapshots off).").waitFor();
    await snapshotsPanel.getByText("No state disk yet: its snapshots can be listed after a successful up.").waitFor();
    expect(await snapshotsPanel.getByRole("button", { name: "Refresh list" }).isDisabled()).toBe(true);
    expect(await snapshotsPanel.getByTestId("snapshots-listed").textContent()).toBe("Not listed yet.");
    // A deployed host (as a successful up leaves it; the droplet id 0 is one the worker refuses before any cloud call)
    // and two health transitions, written as the health checker audits them.
    await onDatabase(async (db) => {
      await db.updateTable("instances").set({ status: "ready", outputs: JSON.stringify({ instanceId: "0", publicIpv4: "203.0.113.7" }) }).where("id", "=", aliceInstanceId).execute();
      for (const [status, latencyMs] of [["up", 42], ["down", 0]] as const) {
        await new AuditLog(db).record({ action: `instance.health.${status}`, result: status === "up" ? "ok" : "error", actorKind: "system", target: aliceInstanceId, latencyMs });
      }
    });
    await page.reload();
    const history = page.getByRole("table", { name: "Health history (newest first)" });
    await expect.poll(async () => (await history.locator("tbody tr td:nth-child(2)").allTextContents())).toEqual(["down", "up"]);
    expect(await history.locator("tbody tr").nth(1).textContent()).toContain("42 ms");
    for (const name of ["Stop", "Start", "Reboot"]) await expect.poll(() => page.getByRole("button", { name, exact: true }).isEnabled()).toBe(true);
    // Reboot asks first; Cancel sends nothing.
    const powerCalls: string[] = [];
    page.on("request", (request) => {
      const match = /\/v1\/instances\/inst_[0-9a-f]{32}\/(stop|start|reboot)$/.exec(request.url());
      if (match && request.method() === "POST") powerCalls.push(match[1]!);
    });
    await page.getByRole("button", { name: "Reboot", exact: true }).click();
    await page.getByText("Reboot this instance?").waitFor();
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    expect(powerCalls).toEqual([]);
    // Stop, confirmed: the job is enqueued and followed like any job; it fails at the cloud step (no such droplet), saying so.
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    await page.getByText("Stop this instance?").waitFor();
    await checkScreen(page, "08b-instance-power-confirm");
    await page.getByRole("button", { name: "Stop now" }).click();
    const stopJob = page.locator(".job").filter({ hasText: "stop job" });
    await stopJob.locator(".badge.state-failed").waitFor({ timeout: 30_000 });
    await stopJob.getByRole("alert").filter({ hasText: "power_not_found" }).waitFor();
    expect(powerCalls).toEqual(["stop"]);
    await expect.poll(async () => (await jobsTable.locator("tbody tr").first().textContent()) ?? "").toMatch(/^stop.*failed/);
    // A failed power action leaves the instance as it was.
    await page.getByRole("heading", { level: 1 }).locator(".badge.status-ready").waitFor();
    // A stopped instance: health says stopped; Start is offered without a question, Reboot is not.
    await onDatabase((db) => db.updateTable("instances").set({ status: "stopped" }).where("id", "=", aliceInstanceId).execute());
    await page.reload();
    await expect.poll(() => page.getByTestId("health-now").textContent()).toBe("stopped");
    expect(await page.getByRole("button", { name: "Reboot", exact: true }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.locator(".job").filter({ hasText: "start job" }).locator(".badge.state-failed").waitFor({ timeout: 30_000 });
    expect(powerCalls).toEqual(["stop", "start"]);
    await checkScreen(page, "08c-instance-power");

    // Snapshots: a state disk and the list a `snapshots` job left (written as the worker stores it, one name with
    // markup); the disk id is one the worker refuses before any cloud call, so Refresh never reaches DigitalOcean.
    const disk = "<b>vol</b>";
    await onDatabase(async (db) => {
      const instance = await db.selectFrom("instances").select(["outputs", "user_id", "stack_name"]).where("id", "=", aliceInstanceId).executeTakeFirstOrThrow();
      await db.updateTable("instances").set({ outputs: JSON.stringify({ ...(JSON.parse(instance.outputs ?? "{}") as object), stateDiskId: disk }) }).where("id", "=", aliceInstanceId).execute();
      const at = new Date().toISOString();
      const result = {
        listedAt: "2026-11-03T08:00:00.000Z",
        stateDiskId: disk,
        total: 2,
        snapshots: [
          { id: "2002", name: "<em>before upgrade</em>", createdAt: "2026-11-02T09:30:00.000Z", sizeGiB: 20, source: "manual" },
          { id: "2001", name: "clawstack-state-claw-20261101t0400z", createdAt: "2026-11-01T04:00:05.000Z", sizeGiB: 20, source: "schedule" },
        ],
      };
      await db
        .insertInto("jobs")
        .values({
          id: newId("job"), instance_id: aliceInstanceId, user_id: instance.user_id, stack_name: instance.stack_name, operation: "snapshots", state: "succeeded", stack_lock: null,
          attempt: 1, max_attempts: 1, memory_mb: 64, run_after: at, lease_owner: null, lease_expires_at: null, cancel_requested: 0, takeover: 0, result: JSON.stringify(result),
          error: null, error_code: null, error_field: null, created_at: at, started_at: at, finished_at: at, updated_at: at,
        })
        .execute();
    });
    await page.reload();
    const snapshotRows = page.getByRole("table", { name: "Snapshots of the state disk, newest first" }).locator("tbody tr");
    await expect.poll(() => snapshotRows.count()).toBe(2);
    expect(await snapshotRows.first().textContent()).toBe("2026-11-02 09:30:00 UTC<em>before upgrade</em>manual20 GiB—");
    expect(await snapshotRows.nth(1).textContent()).toContain("scheduled");
    expect(await snapshotsPanel.locator("em").count()).toBe(0);
    expect(await snapshotsPanel.getByTestId("snapshots-listed").textContent()).toBe("Listed 2026-11-03 08:00:00 UTC: 2 snapshots.");
    // Refresh list: one request, a `snapshots` job the worker fails before any cloud call; its reason shows as text
    // beside the list it keeps.
    const refreshCalls: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && /\/v1\/instances\/inst_[0-9a-f]{32}\/snapshots\/refresh$/.test(request.url())) refreshCalls.push(request.url());
    });
    await snapshotsPanel.getByRole("button", { name: "Refresh list" }).click();
    const snapshotsError = snapshotsPanel.getByTestId("snapshots-error");
    await snapshotsError.waitFor({ timeout: 30_000 });
    expect(await snapshotsError.textContent()).toBe('The last listing failed: `stateDiskId` must be a DigitalOcean volume UUID; got "<b>vol</b>"');
    expect(await snapshotsError.locator("b").count()).toBe(0);
    expect(refreshCalls).toHaveLength(1);
    expect(await snapshotRows.count()).toBe(2);
    expect(await snapshotsPanel.getByRole("button", { name: "Refresh list" }).isEnabled()).toBe(true);
    // After a reload the failure is still said, and the jobs list has the listing first.
    await page.reload();
    await snapshotsError.waitFor();
    await expect.poll(async () => (await jobsTable.locator("tbody tr").first().textContent()) ?? "").toMatch(/^snapshots.*failed.*snapshots_invalid_disk/);
    await checkScreen(page, "08d-instance-snapshots");

    // Destroy, with the typed confirmation: a wrong id is refused in the page, nothing is sent.
    await page.getByLabel("Instance id").fill("inst_wrong");
    await page.getByRole("button", { name: "Destroy this instance" }).click();
    await expect.poll(() => page.getByLabel("Instance id").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Instance id").fill(aliceInstanceId);
    await page.getByRole("button", { name: "Destroy this instance" }).click();
    await page.getByRole("heading", { name: /^destroy job/ }).waitFor();
    await page.locator(".job").filter({ hasText: "destroy job" }).locator(".badge.state-failed, .badge.state-succeeded").waitFor({ timeout: 60_000 });
    await checkScreen(page, "09-instance-destroy");

    // The other screens, for their checks and screenshots.
    for (const [link, heading, name] of [
      ["API keys", "API keys", "10-api-keys"],
      ["Audit log", "Audit log", "11-audit"],
      ["Account", "Account", "12-account"],
      ["Instances", "Instances", "13-instances"],
    ] as const) {
      await page.getByRole("link", { name: link, exact: true }).click();
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      await checkScreen(page, name);
    }
    expect(await page.getByRole("cell", { name: /start: failed|destroy: / }).count()).toBeGreaterThan(0);

    // A 401 (an access token that expired) is refreshed once through the cookie and the request retried.
    let refused = false;
    await page.route("**/v1/instances", async (route) => {
      if (refused) return route.continue();
      refused = true;
      return route.fulfill({ status: 401, contentType: "application/json", body: JSON.stringify({ statusCode: 401, error: "Unauthorized", message: "token expired", requestId: "test" }) });
    });
    const refreshed = page.waitForResponse((response) => response.url().endsWith("/v1/auth/session/refresh") && response.status() === 200);
    await page.getByRole("link", { name: "Audit log", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    await page.getByRole("link", { name: "Instances", exact: true }).click();
    await refreshed;
    await page.getByRole("link", { name: "openclaw" }).waitFor();
    expect(refused).toBe(true);
    await page.unroute("**/v1/instances");
  }, 180_000);

  it("shows a second user nothing of the first's", async () => {
    expect(aliceInstanceId).not.toBe("");
    const admin = await newPage("admin-2");
    await signIn(admin.page, ADMIN);
    const token = await invite(admin.page, BOB.email);
    const link = (await admin.page.getByLabel("The registration link").textContent())?.trim() ?? "";
    expect(link).toContain(encodeURIComponent(token));
    // Bob opens the link: the form is filled in and the token leaves the address bar (and the history).
    const { page } = await newPage("bob");
    await page.goto(link);
    await page.getByRole("heading", { level: 1, name: "Create your account" }).waitFor();
    expect(await page.getByLabel("Invitation token").inputValue()).toBe(token);
    expect(await page.getByLabel("Email").inputValue()).toBe(BOB.email);
    await expect.poll(() => page.url()).not.toContain("csi_");
    await page.getByLabel("Password", { exact: true }).fill(BOB.password);
    await page.getByLabel("Password again").fill(BOB.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Account created" }).waitFor();
    // Signing in with the keyboard only: focus starts on the screen's heading, Tab reaches the fields, Enter submits.
    await page.goto(`${server.url}/#/sign-in`);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await expect.poll(() => page.evaluate<string>("document.activeElement.textContent")).toBe("Sign in");
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string>("document.activeElement.name")).toBe("email");
    await page.keyboard.type(BOB.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(BOB.password);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Instances" }).waitFor();
    await page.getByText("No instances yet").waitFor();
    await page.getByRole("link", { name: "Credentials" }).click();
    await page.getByText("No credentials yet.").waitFor();
    // Alice's instance and job by their ids: not found for Bob.
    await page.goto(`${server.url}/#/instances/${aliceInstanceId}`);
    await page.getByRole("alert").filter({ hasText: "not found" }).waitFor();
    // And over the API with Bob's own token: Alice's job is not found, his list is empty.
    const login = await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(BOB) });
    const bobToken = ((await login.json()) as { accessToken: string }).accessToken;
    expect((await fetch(`${server.url}/v1/jobs/${aliceJobId}`, { headers: { authorization: `Bearer ${bobToken}` } })).status).toBe(404);
    expect(await (await fetch(`${server.url}/v1/instances`, { headers: { authorization: `Bearer ${bobToken}` } })).json()).toEqual({ instances: [] });
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    expect(await page.content()).not.toContain(aliceInstanceId);
    await checkScreen(page, "14-second-user-audit");

    // Sign out everywhere: the API ends every session, the page returns to sign-in with the cookies gone.
    await page.getByRole("link", { name: "Account", exact: true }).click();
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect((await page.context().cookies()).filter((cookie) => cookie.value !== "")).toEqual([]);
    expect((await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${bobToken}` } })).status).toBe(401);
  }, 120_000);

  it("had no CSP violation, script error, console error or 5xx, and no serious accessibility finding", () => {
    for (const { name, seen } of watched) expect(seen.problems, name).toEqual([]);
    expect(Object.keys(accessibility).length).toBeGreaterThanOrEqual(12);
    const serious = Object.fromEntries(Object.entries(accessibility).filter(([, found]) => found.length > 0));
    expect(serious).toEqual({});
  });
});
