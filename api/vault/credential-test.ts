/**
 * "Test" of a decrypted credential: does the cloud accept it? A DigitalOcean
 * token is probed scope by scope with the access component's
 * `checkDigitalOceanToken` (read-only requests; base URL from config, a
 * loopback stand-in in tests). AWS and GCP credentials hold no secret the
 * API could try on its own: they are shape-checked here and exercised for
 * real when a job assumes the role or federates.
 */
import { checkDigitalOceanToken } from "../../runtime/digitalocean-token-check";
import type { CredentialSecret } from "./kinds";

export interface CredentialTestResult {
  ok: boolean;
  detail: string;
}

export async function testCredential(secret: CredentialSecret, options: { digitalOceanApiUrl: string }): Promise<CredentialTestResult> {
  switch (secret.kind) {
    case "aws":
      return { ok: true, detail: "role ARN and external ID are well-formed; the role is assumed (STS) when a job runs" };
    case "gcp":
      return { ok: true, detail: "external-account configuration is well-formed; federation is exercised when a job runs" };
    case "digitalocean": {
      try {
        const check = await checkDigitalOceanToken(secret.token, { baseUrl: options.digitalOceanApiUrl });
        return { ok: check.ok, detail: check.message };
      } catch (error) {
        // The access component's errors never contain the token (it is sent in a header only).
        return { ok: false, detail: error instanceof Error ? error.message : "the DigitalOcean API could not be reached" };
      }
    }
    default: {
      const unreachable: never = secret;
      throw new Error(`unknown credential kind ${String(unreachable)}`);
    }
  }
}
