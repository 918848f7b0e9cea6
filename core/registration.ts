/**
 * The formats of the first-boot registration call, as the provisioning API
 * issues and accepts them (api/stacks/naming.ts `newInstanceId`,
 * api/registration/tokens.ts, api/registration/prepare.ts,
 * `POST /v1/instances/:id/register` in api/routes/instances.ts). Shared by the
 * stack config parser (`program/host-config.ts`) and the renderer's guard
 * (`cloud-init/validate.ts`) so both refuse the same values.
 */

/** `inst_` + 32 hex characters. */
export const INSTANCE_ID_PATTERN = /^inst_[0-9a-f]{32}$/;

/** `csreg_` + 32 random bytes in base64url (43 characters). */
export const REGISTRATION_TOKEN_PATTERN = /^csreg_[A-Za-z0-9_-]{43}$/;

/** An https:// origin, an optional path prefix, then the register route of `instanceId`. */
const API_URL_PATTERN = /^https:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?((?:\/[A-Za-z0-9._~-]+)*)\/v1\/instances\/([^/]+)\/register$/;

/**
 * Checks `apiUrl` is the register endpoint of `instanceId` over https:// (what
 * the API's job runner passes: `${CLAWSTACK_PUBLIC_URL}/v1/instances/<id>/register`).
 * Returns what is wrong, or `undefined` when it is fine.
 */
export function registrationUrlProblem(apiUrl: unknown, instanceId: string): string | undefined {
  if (typeof apiUrl !== "string") return "it is not a string";
  if (!apiUrl.startsWith("https://")) return "it is not https:// (registration sends the gateway token: TLS only)";
  const match = API_URL_PATTERN.exec(apiUrl);
  if (!match) return "it is not https://<host>[:port][/prefix]/v1/instances/<instanceId>/register without query, fragment or credentials";
  if (match[2] !== instanceId) return `its instance id \`${match[2] ?? ""}\` is not \`registration.instanceId\``;
  return undefined;
}
