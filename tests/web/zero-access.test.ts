/**
 * Zero access in the dashboard (issue 17), in real Chromium against the real API: a device key made
 * in the browser (non-extractable, in IndexedDB, only its public half registered) → an instance that
 * pins it → a support-access grant signed in the page → seen active with its countdown → revoked;
 * the support command audit; the ClawChat keys a host sealed to the browser's key (sealed here with
 * core/zero-access, uploaded with the host's token) downloaded and opened in the page, and nothing of
 * them sent anywhere. CSP violations, script errors and console errors fail the test.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../api/config";
import { openDatabase } from "../../api/db/connect";
import { issueRegistrationToken } from "../../api/registration/tokens";
import { openSealed, sealTo } from "../../core/zero-access/sealed-box";
import { exportUserPublicKey, generateUserKeyPair, type UserPublicKey, userKeyFingerprint } from "../../core/zero-access/user-keys";
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
const ADMIN = { email: "admin@example.com", password: `admin-${randomBytes(9).toString("base64url")}` };
const ALICE = { email: "alice@example.com", password: `alice-${randomBytes(9).toString("base64url")}` };
const DO_TOKEN = `dop_v1_${randomBytes(32).toString("hex")}`;

/** An OpenSSH `ssh-ed25519` public key line, as a support team hands it out, and its OpenSSH fingerprint. */
function supportKeyLine(): { line: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([lengthPrefixed(Buffer.from("ssh-ed25519")), lengthPrefixed(raw)]);
  return {
    line: `ssh-ed25519 ${blob.toString("base64")} support@example.com`,
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

async function json<T>(response: Response, expected: number): Promise<T> {
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${response.url}: expected ${expected}, got ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The page's own view of its device key record (given as text: this project's TypeScript has no DOM library). */
const READ_LOCAL_KEY = `(async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("clawstack-device-keys", 1);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const records = await new Promise((resolve, reject) => {
    const request = db.transaction("keys").objectStore("keys").getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  const results = [];
  for (const record of records) {
    const attempts = {};
    for (const [name, key] of [["signing", record.signing.privateKey], ["sealing", record.sealing.privateKey]]) {
      for (const format of ["pkcs8", "jwk"]) {
        try {
          await crypto.subtle.exportKey(format, key);
          attempts[name + "/" + format] = "exported";
        } catch (error) {
          attempts[name + "/" + format] = error.name;
        }
      }
    }
    results.push({
      fingerprint: record.fingerprint,
      publicKey: record.publicKey,
      extractable: [record.signing.privateKey.extractable, record.sealing.privateKey.extractable],
      types: [record.signing.privateKey.type, record.sealing.privateKey.type],
      attempts,
    });
  }
  return results;
})()`;

/** The cloud firewall fields of a grant view (`GET /v1/instances/:id/support-grants`). */
interface GrantCloudFirewall {
  id: string;
  cloudFirewall: string;
  cloudFirewallError: string | null;
}

interface LocalKeyReport {
  fingerprint: string;
  publicKey: UserPublicKey;
  extractable: boolean[];
  types: string[];
  attempts: Record<string, string>;
}

describe.skipIf(skipReason !== undefined)("zero access in the dashboard (Chromium)", () => {
  let server: RunningApi;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: PageProblems;
  const requests: Request[] = [];
  const accessibility: Record<string, unknown[]> = {};
  let aliceToken = "";
  let fingerprint = "";
  let browserKey: UserPublicKey | undefined;
  let instanceId = "";
  const hostToken = `cshost_${randomBytes(32).toString("base64url")}`;
  const supportKey = supportKeyLine();

  const call = (method: string, path: string, body?: unknown, token = aliceToken) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  /** The grant's cloud firewall state as the API reports it, polled until `done` holds (the worker's job settles it). */
  async function cloudFirewallOf(grantId: string, done: (state: string) => boolean): Promise<GrantCloudFirewall> {
    let grant: GrantCloudFirewall | undefined;
    await expect
      .poll(
        async () => {
          const listed = await json<{ items: GrantCloudFirewall[] }>(await call("GET", `/v1/instances/${instanceId}/support-grants`), 200);
          grant = listed.items.find((item) => item.id === grantId);
          return grant ? done(grant.cloudFirewall) : false;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    return grant!;
  }

  /** Writes a grant's cloud firewall state into its row (as a job would), for what the page shows of it. */
  async function setGrantCloudFirewall(grantId: string, state: string, error: string | null): Promise<void> {
    const handle = openDatabase(loadConfig(serverEnv(server)).database);
    try {
      await sql`update support_grants set cloud_firewall = ${state}, cloud_firewall_error = ${error} where id = ${grantId}`.execute(handle.db);
    } finally {
      await handle.close();
    }
  }

  async function checkScreen(name: string): Promise<void> {
    await page.waitForLoadState("networkidle").catch(() => undefined);
    accessibility[name] = await axeCheck(page);
    await screenshot(page, name);
  }

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startServer();
    createAdmin(server, ADMIN.email, ADMIN.password);
    // Alice's account over the API (the invitation journey itself is dashboard.test.ts's).
    const admin = await json<{ accessToken: string }>(
      await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ADMIN) }),
      200,
    );
    const invite = await json<{ token: string }>(await call("POST", "/v1/admin/invites", { email: ALICE.email }, admin.accessToken), 201);
    // The operator publishes the support team's SSH key (the grant form offers it).
    await json(await call("POST", "/v1/admin/support-keys", { publicKey: supportKey.line }, admin.accessToken), 201);
    await json(
      await fetch(`${server.url}/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...ALICE, invite: invite.token }),
      }),
      201,
    );
    aliceToken = (
      await json<{ accessToken: string }>(
        await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ALICE) }),
        200,
      )
    ).accessToken;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    seen = await watch(page);
    page.on("request", (request) => requests.push(request));
    await page.goto(`${server.url}/#/sign-in`);
    await page.getByLabel("Email").fill(ALICE.email);
    await page.getByLabel("Password", { exact: true }).fill(ALICE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Instances" }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  it("makes a non-extractable device key in the browser and registers only its public half", async () => {
    await page.getByRole("link", { name: "Device keys" }).click();
    await page.getByRole("heading", { level: 1, name: "Device keys" }).waitFor();
    await page.getByText("No device key yet.").waitFor();
    await page.getByText("the provider never sees the private half").waitFor();
    // A name with a control character is refused on its field, in the page.
    await page.getByLabel("Name of this device").fill("laptop\u0007");
    await page.getByRole("button", { name: "Make a device key" }).click();
    await expect.poll(() => page.getByLabel("Name of this device").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Name of this device").fill("Alice's laptop");
    await page.getByRole("button", { name: "Make a device key" }).click();
    const row = page.getByRole("row").filter({ hasText: "Alice's laptop" });
    await row.getByText("this browser").waitFor();
    fingerprint = ((await row.locator("code").textContent()) ?? "").trim();
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    // The private halves are CryptoKeys the page itself cannot export.
    const local = await page.evaluate<LocalKeyReport[]>(READ_LOCAL_KEY);
    expect(local).toHaveLength(1);
    expect(local[0]!.fingerprint).toBe(fingerprint);
    expect(local[0]!.types).toEqual(["private", "private"]);
    expect(local[0]!.extractable).toEqual([false, false]);
    expect(Object.values(local[0]!.attempts)).toEqual(["InvalidAccessError", "InvalidAccessError", "InvalidAccessError", "InvalidAccessError"]);
    browserKey = local[0]!.publicKey;
    expect(await userKeyFingerprint(browserKey)).toBe(fingerprint);

    // The API holds the same fingerprint; the one request that registered it carried public keys only.
    const listed = await json<{ items: { fingerprint: string; revokedAt: string | null }[] }>(await call("GET", "/v1/me/device-keys"), 200);
    expect(listed.items.map((item) => item.fingerprint)).toEqual([fingerprint]);
    const registration = requests.filter((request) => request.method() === "POST" && request.url().endsWith("/v1/me/device-keys"));
    expect(registration).toHaveLength(1);
    expect(Object.keys(JSON.parse(registration[0]!.postData() ?? "{}") as object).sort()).toEqual(["key", "name"]);
    expect(JSON.parse(registration[0]!.postData()!).key).toEqual(browserKey);
    // Storage other than IndexedDB's CryptoKeys stays empty.
    expect(await page.evaluate<string>("JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })")).toBe("{}{}");
    await checkScreen("zero-01-device-keys");

    // A reload keeps the key: the badge comes from IndexedDB.
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Device keys" }).waitFor();
    await page.getByRole("row").filter({ hasText: "Alice's laptop" }).getByText("this browser").waitFor();
  }, 60_000);

  it("creates an instance that pins the browser's key and shows its fingerprint", async () => {
    expect(fingerprint).not.toBe("");
    await json(await call("POST", "/v1/credentials", { kind: "digitalocean", name: "do", token: DO_TOKEN }), 201);
    // The create screen says which keys the new host will pin.
    await page.getByRole("link", { name: "Instances" }).click();
    await page.getByRole("link", { name: "New instance" }).click();
    await page.getByText(`The host will pin your 1 active device key: ${fingerprint}.`).waitFor();
    const created = await json<{ instance: { id: string } }>(
      await call("POST", "/v1/instances", {
        cloud: "digitalocean",
        region: "nyc3",
        size: "small",
        options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
      }),
      201,
    );
    instanceId = created.instance.id;
    const pinnedKeys = await json<{ items: { fingerprint: string; key: UserPublicKey }[] }>(await call("GET", `/v1/instances/${instanceId}/pinned-keys`), 200);
    expect(pinnedKeys.items).toEqual([{ fingerprint, key: browserKey }]);
    await page.goto(`${server.url}/#/instances/${instanceId}`);
    const pinned = page.getByRole("list", { name: "Pinned device key fingerprints" });
    await pinned.getByText(fingerprint).waitFor();
    await pinned.getByText("this browser").waitFor();
    await pinned.getByText("your key “Alice's laptop”").waitFor();
    expect(await pinned.getByText("not one of your device keys").count()).toBe(0);
    await page.getByText("Support access: OFF").waitFor();

    // Grant access is offered only where a grant can reach the host (api/support/agent-presence.ts): not on an AWS
    // host before it registered (its agent is fetched at first boot), nor on a host that registered without the agent.
    const setRow = async (cloud: string, registeredAt: string | null) => {
      const handle = openDatabase(loadConfig(serverEnv(server)).database);
      try {
        await sql`update instances set cloud = ${cloud}, registered_at = ${registeredAt} where id = ${instanceId}`.execute(handle.db);
      } finally {
        await handle.close();
      }
    };
    const grantButton = page.getByRole("button", { name: "Grant access – expires in 24h" });
    try {
      await setRow("aws", null);
      await page.reload();
      await page.getByText("(this AWS host has not registered yet: it fetches its support agent at first boot, and takes grants once it has registered)").waitFor();
      expect(await grantButton.isDisabled()).toBe(true);
      await setRow("digitalocean", new Date().toISOString());
      await page.reload();
      await page.getByText(/this host registered without the support agent/).waitFor();
      expect(await grantButton.isDisabled()).toBe(true);
    } finally {
      await setRow("digitalocean", null);
    }
    await page.reload();
    await page.getByText("Support access: OFF").waitFor();
    await expect.poll(() => grantButton.isDisabled()).toBe(false);

    // A key substituted at creation (written into the row here, as a provider would) is flagged on the page.
    const stranger = await exportUserPublicKey(await generateUserKeyPair({ extractable: true }));
    const strangerFingerprint = await userKeyFingerprint(stranger);
    const setPinned = async (keys: UserPublicKey[]) => {
      const handle = openDatabase(loadConfig(serverEnv(server)).database);
      try {
        await sql`update instances set pinned_keys = ${JSON.stringify(keys)} where id = ${instanceId}`.execute(handle.db);
      } finally {
        await handle.close();
      }
    };
    await setPinned([browserKey!, stranger]);
    try {
      await page.reload();
      const flagged = page.getByRole("listitem").filter({ hasText: strangerFingerprint });
      await flagged.getByText("not one of your device keys").waitFor();
      await page.getByRole("alert").filter({ hasText: "This host trusts a key that is not yours" }).waitFor();
      await checkScreen("zero-01b-substituted-key");
    } finally {
      await setPinned([browserKey!]);
    }
    await page.reload();
    await pinned.getByText(fingerprint).waitFor();
    expect(await pinned.getByText("not one of your device keys").count()).toBe(0);
  }, 60_000);

  it("grants support access signed in the browser, shows it active with its countdown, and revokes it", async () => {
    expect(instanceId).not.toBe("");
    const bareKey = supportKey.line.split(" ").slice(0, 2).join(" ");
    await page.getByRole("button", { name: "Grant access – expires in 24h" }).click();
    const form = page.getByRole("form", { name: "Grant support access" });
    // Prefilled with the key the operator published.
    await expect.poll(() => form.getByLabel("Support SSH public keys").inputValue()).toBe(bareKey);
    await form.getByText(supportKey.fingerprint).waitFor();
    await form.getByLabel("Support SSH public keys").fill(supportKey.line);
    // Host bits set in a CIDR: refused on the field by the browser, nothing typed is lost, nothing sent.
    await form.getByLabel("Support connects from (CIDRs)").fill("198.51.100.7/24");
    await form.getByLabel("Reason").fill("ticket 4711: gateway does not start");
    await form.getByLabel("Hours").fill("24");
    await form.getByRole("button", { name: "Sign and grant access" }).click();
    await expect.poll(() => form.getByLabel("Support connects from (CIDRs)").getAttribute("aria-invalid")).toBe("true");
    expect(await form.getByLabel("Reason").inputValue()).toBe("ticket 4711: gateway does not start");
    expect(requests.filter((request) => request.method() === "POST" && request.url().includes("/support-grants"))).toHaveLength(0);
    // More than 24 hours: refused on the hours field.
    await form.getByLabel("Support connects from (CIDRs)").fill("198.51.100.0/24");
    await form.getByLabel("Hours").fill("25");
    await form.getByRole("button", { name: "Sign and grant access" }).click();
    await expect.poll(() => form.getByLabel("Hours").getAttribute("aria-invalid")).toBe("true");
    await checkScreen("zero-02-grant-form-error");
    await form.getByLabel("Hours").fill("24");
    await form.getByLabel("Support SSH public keys").fill(supportKey.line);
    await form.getByRole("button", { name: "Sign and grant access" }).click();

    await page.getByText("Support access: ON").waitFor();
    const timer = page.getByRole("timer", { name: "Time left" });
    await expect.poll(async () => (await timer.textContent()) ?? "").toMatch(/^expires in 23 h 59 min \d\d s$/);
    const before = await timer.textContent();
    await expect.poll(() => timer.textContent(), { timeout: 5000 }).not.toBe(before);
    await checkScreen("zero-03-support-on");

    // What was sent is a statement signed by the browser's key, for this instance, 24 h, the support key without its comment.
    const posted = requests.filter((request) => request.method() === "POST" && request.url().endsWith(`/v1/instances/${instanceId}/support-grants`));
    expect(posted).toHaveLength(1);
    const signed = JSON.parse(posted[0]!.postData()!) as { statement: string; signature: string };
    const statement = JSON.parse(signed.statement) as Record<string, unknown>;
    expect(statement).toMatchObject({
      instanceId,
      supportKeys: [bareKey],
      sources: ["198.51.100.0/24"],
      reason: "ticket 4711: gateway does not start",
      signer: fingerprint,
    });
    expect(Date.parse(statement.notAfter as string) - Date.parse(statement.notBefore as string)).toBe(24 * 3_600_000);
    const grants = await json<{ items: { id: string; status: string }[] }>(await call("GET", `/v1/instances/${instanceId}/support-grants`), 200);
    expect(grants.items.map((grant) => grant.status)).toEqual(["active"]);

    // The grant's cloud firewall: the worker's `support-open` job settles it. This API's worker has no Pulumi, so the
    // instance was never deployed and has no `firewallId` output: the job fails and says why, on the grant and on the page.
    const settled = await cloudFirewallOf(grants.items[0]!.id, (state) => state !== "opening");
    expect(settled.cloudFirewall).toBe("failed");
    expect(settled.cloudFirewallError).toContain("no `firewallId` output");
    const on = page.locator(".switch.on");
    await on.getByText(`Cloud firewall: failed: ${settled.cloudFirewallError}`, { exact: true }).waitFor();

    // The grant can be replayed by nobody: the same signed statement again is refused by the API.
    const replay = await call("POST", `/v1/instances/${instanceId}/support-grants`, signed);
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);

    await page.getByRole("button", { name: "Revoke support access" }).click();
    await page.getByText("Support access: OFF").waitFor();
    await page.getByRole("table", { name: "Earlier grants" }).getByText(/^revoked /).waitFor();
    const after = await json<{ items: { id: string; status: string; revokedAt: string | null }[] }>(await call("GET", `/v1/instances/${instanceId}/support-grants`), 200);
    expect(after.items.map((grant) => grant.status)).toEqual(["revoked"]);
    expect(after.items[0]!.revokedAt).not.toBeNull();
    // The revoke's `support-close` job: without a firewall nothing is open, so the rule is closed; the page follows it there.
    expect((await cloudFirewallOf(after.items[0]!.id, (state) => state !== "closing")).cloudFirewall).toBe("closed");
    const earlier = page.getByRole("table", { name: "Earlier grants" });
    await earlier.getByText("Cloud firewall: closed", { exact: true }).waitFor();

    // A failure's reason is shown as text: markup in it is not markup on the page.
    const markup = "<em>the cloud said no</em>";
    await setGrantCloudFirewall(after.items[0]!.id, "failed", markup);
    try {
      await page.reload();
      await earlier.getByText(`Cloud firewall: failed: ${markup}`, { exact: true }).waitFor();
      expect(await earlier.locator("em").count()).toBe(0);
    } finally {
      await setGrantCloudFirewall(after.items[0]!.id, "closed", null);
    }
    await page.reload();
    await earlier.getByText("Cloud firewall: closed", { exact: true }).waitFor();
    await checkScreen("zero-04-support-revoked");
  }, 90_000);

  it("shows the API's refusal of a grant on the form's field, with nothing typed lost", async () => {
    expect(instanceId).not.toBe("");
    await page.getByRole("button", { name: "Grant access – expires in 24h" }).click();
    const form = page.getByRole("form", { name: "Grant support access" });
    // A key line of the right shape whose blob is not an ed25519 key: the browser signs it, the API refuses it.
    await form.getByLabel("Support SSH public keys").fill(`ssh-ed25519 ${"A".repeat(68)}`);
    await form.getByLabel("Support connects from (CIDRs)").fill("198.51.100.0/24");
    await form.getByLabel("Reason").fill("ticket 4712");
    await form.getByRole("button", { name: "Sign and grant access" }).click();
    await expect.poll(() => form.getByLabel("Support SSH public keys").getAttribute("aria-invalid")).toBe("true");
    expect(await form.getByRole("alert").first().textContent()).toMatch(/supportKeys/);
    expect(await form.getByLabel("Reason").inputValue()).toBe("ticket 4712");
    await page.getByText("Support access: OFF").waitFor();
    await form.getByRole("button", { name: "Cancel" }).click();
  }, 30_000);

  it("shows the commands support ran (metadata only) and opens the ClawChat keys sealed to the browser's key", async () => {
    expect(browserKey).toBeDefined();
    // The host registers at first boot with its own token (the registration token as an up job would issue it).
    const handle = openDatabase(loadConfig(serverEnv(server)).database);
    let registrationToken: string;
    try {
      registrationToken = (await issueRegistrationToken(handle.db, { instanceId, jobId: null })).token;
    } finally {
      await handle.close();
    }
    const register = await fetch(`${server.url}/v1/instances/${instanceId}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ registrationToken, gatewayToken: randomBytes(32).toString("hex"), tlsCertSha256: randomBytes(32).toString("hex"), hostToken }),
    });
    await json(register, 204);

    // The host reports a command support ran; the page lists it (metadata only).
    const grants = await json<{ items: { id: string }[] }>(await call("GET", `/v1/instances/${instanceId}/support-grants`), 200);
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    await json(
      await call(
        "POST",
        `/v1/host/instances/${instanceId}/support-commands`,
        {
          entries: [
            {
              grantId: grants.items[0]!.id,
              operator: `ssh-key:${supportKey.fingerprint}`,
              commandLine: "systemctl status openclaw-gateway",
              startedAt,
              endedAt: new Date(Date.parse(startedAt) + 1500).toISOString(),
              exitStatus: 3,
              stdoutBytes: 912,
              stderrBytes: 0,
              seq: 1,
            },
          ],
        },
        hostToken,
      ),
      204,
    );

    // The host seals its ClawChat keys to the pinned keys and uploads the box.
    // As the host agent reads them: the newest `.sec` file's text and `bootstrap.key` (32 random bytes, base64).
    const secret = {
      securityFile: `clawchat-security v1\nsecret ${randomBytes(32).toString("base64")}\n`,
      bootstrapKey: randomBytes(32).toString("base64"),
      securityFileName: "clawchat-20261205-021500.sec",
    };
    const context = `clawchat-keys:${instanceId}`;
    const box = await sealTo([browserKey!], new TextEncoder().encode(JSON.stringify(secret)), context);
    await json(await call("PUT", `/v1/host/instances/${instanceId}/clawchat-keys`, { box }, hostToken), 204);
    // Nothing the API holds opens it: another key cannot.
    const stranger = await generateUserKeyPair({ extractable: false });
    await expect(openSealed(box, { publicKey: await exportUserPublicKey(stranger), sealingKey: stranger.sealing.privateKey }, context)).rejects.toThrow();

    await page.reload();
    await page.getByRole("heading", { level: 2, name: "Support access" }).waitFor();
    const commands = page.getByRole("table", { name: /Commands run by support/ });
    await commands.getByText("systemctl status openclaw-gateway").waitFor();
    expect(await commands.getByRole("row").nth(1).textContent()).toContain(ADMIN.email);
    expect(await commands.getByRole("row").nth(1).textContent()).toContain("912 out, 0 err");

    const before = requests.length;
    await page.getByRole("button", { name: "Download ClawChat keys" }).click();
    await page.getByText("Opened with this browser's device key").waitFor();
    const [securityDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save the security file" }).click()]);
    expect(securityDownload.suggestedFilename()).toBe(secret.securityFileName);
    expect(readFileSync((await securityDownload.path())!, "utf8")).toBe(secret.securityFile);
    const [bootstrapDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save the bootstrap key" }).click()]);
    expect(bootstrapDownload.suggestedFilename()).toBe("bootstrap.key");
    expect(readFileSync((await bootstrapDownload.path())!, "utf8")).toBe(`${secret.bootstrapKey}\n`);
    // Opening and saving sent nothing: no request but GETs, one of them the box; the secrets are not in the page's text either.
    const sent = requests.slice(before).filter((request) => !request.url().startsWith("blob:"));
    // (The page's own reads, the instance reloaded after its job's stream ended, may come in between: all GETs.)
    expect(sent.filter((request) => request.method() !== "GET").map((request) => request.url())).toEqual([]);
    expect(sent.filter((request) => request.url().endsWith("/clawchat-keys"))).toHaveLength(1);
    for (const request of sent) expect(decodeURIComponent(request.url())).not.toContain(secret.bootstrapKey);
    for (const request of requests) expect(request.postData() ?? "").not.toContain(secret.bootstrapKey);
    expect(await page.content()).not.toContain(secret.bootstrapKey);
    await checkScreen("zero-05-clawchat-keys");
    await page.getByRole("button", { name: "Forget them here" }).click();
    expect(await page.getByRole("button", { name: "Save the bootstrap key" }).count()).toBe(0);

    // The command is in Alice's audit log too (metadata only).
    await page.getByRole("link", { name: "Audit log", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    await page.getByLabel("Action").fill("support.command");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByRole("cell", { name: "support.command", exact: true }).first().waitFor();
    expect(await page.content()).not.toContain(secret.bootstrapKey);
  }, 90_000);

  it("in another browser of Alice's, which holds no pinned key, neither signs a grant nor opens the box", async () => {
    expect(instanceId).not.toBe("");
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const second = await other.newPage();
      second.setDefaultTimeout(20_000);
      const secondSeen = await watch(second);
      const secondRequests: Request[] = [];
      second.on("request", (request) => secondRequests.push(request));
      await second.goto(`${server.url}/#/sign-in`);
      await second.getByLabel("Email").fill(ALICE.email);
      await second.getByLabel("Password", { exact: true }).fill(ALICE.password);
      await second.getByRole("button", { name: "Sign in" }).click();
      await second.getByRole("heading", { level: 1, name: "Instances" }).waitFor();
      await second.goto(`${server.url}/#/instances/${instanceId}`);
      const pinned = second.getByRole("list", { name: "Pinned device key fingerprints" });
      await pinned.getByText("your key “Alice's laptop”").waitFor();
      expect(await pinned.getByText("this browser").count()).toBe(0);
      await second.getByRole("button", { name: "Grant access – expires in 24h" }).click();
      const form = second.getByRole("form", { name: "Grant support access" });
      // On a loaded machine a value typed by the test was seen lost once in a while before the click (the form then
      // refused an empty field instead): each attempt types again and checks the fields hold it (nothing is sent
      // either way, checked below). Noticed, not explained: docs/dashboard.md.
      const refusal = form.getByRole("alert").filter({ hasText: "This browser holds none of the device keys pinned on this instance" });
      for (let attempt = 1; ; attempt += 1) {
        await form.getByLabel("Support connects from (CIDRs)").fill("198.51.100.0/24");
        await form.getByLabel("Reason").fill("from the other browser");
        expect(await form.getByLabel("Support connects from (CIDRs)").inputValue()).toBe("198.51.100.0/24");
        await form.getByRole("button", { name: "Sign and grant access" }).click();
        const shown = await refusal.waitFor({ timeout: 7_000 }).then(() => true, () => false);
        if (shown) break;
        if (attempt === 3) throw new Error(`no refusal after 3 clicks; the form says: ${(await form.innerText()).slice(0, 500)}`);
      }
      await second.getByRole("button", { name: "Download ClawChat keys" }).click();
      await second.getByRole("alert").filter({ hasText: "this browser holds none of those device keys" }).waitFor();
      expect(await second.getByRole("button", { name: "Save the bootstrap key" }).count()).toBe(0);
      // Nothing was sent for the grant, and the box was only fetched.
      expect(secondRequests.filter((request) => request.method() !== "GET").map((request) => request.url())).toEqual([
        `${server.url}/v1/auth/login`,
      ]);
      accessibility["zero-06-other-browser"] = await axeCheck(second);
      await screenshot(second, "zero-06-other-browser");
      expect(secondSeen.problems).toEqual([]);
    } finally {
      await other.close();
    }
  }, 60_000);

  it("revokes the device key: gone from the list's active keys and from this browser, still trusted by the host that pinned it", async () => {
    await page.getByRole("link", { name: "Device keys" }).click();
    await page.getByRole("heading", { level: 1, name: "Device keys" }).waitFor();
    let asked = "";
    page.once("dialog", (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await page.getByRole("button", { name: "Revoke Alice's laptop" }).click();
    await expect.poll(() => asked).toContain("instances that already pinned it keep trusting it until they are re-created");
    await page.getByRole("row").filter({ hasText: "Alice's laptop" }).getByText(/^revoked /).waitFor();
    expect(await page.evaluate<LocalKeyReport[]>(READ_LOCAL_KEY)).toEqual([]);
    const listed = await json<{ items: { revokedAt: string | null }[] }>(await call("GET", "/v1/me/device-keys"), 200);
    expect(listed.items[0]!.revokedAt).not.toBeNull();
    // The instance that pinned it still trusts it, and its page says so.
    await page.goto(`${server.url}/#/instances/${instanceId}`);
    const pinned = page.getByRole("list", { name: "Pinned device key fingerprints" });
    await pinned.getByText("your key “Alice's laptop” (revoked, but this host still trusts it until the instance is re-created)").waitFor();
    expect(await pinned.getByText("this browser").count()).toBe(0);
  }, 30_000);

  it("had no CSP violation, script error, console error or 5xx, and no serious accessibility finding", () => {
    expect(seen.problems).toEqual([]);
    expect(Object.keys(accessibility).length).toBeGreaterThanOrEqual(5);
    expect(Object.fromEntries(Object.entries(accessibility).filter(([, found]) => found.length > 0))).toEqual({});
  });
});
