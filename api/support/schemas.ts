/**
 * Request and answer schemas of the zero-access routes (zod only, so the
 * dashboard can import them). Every object is strict, every size bounded,
 * control characters refused as everywhere in the API (api/http/schemas.ts).
 */
import { z } from "zod";
import { SEALED_BOX_ALGORITHM, SEALED_BOX_MAX_PLAINTEXT, SEALED_BOX_MAX_RECIPIENTS } from "../../core/zero-access/sealed-box";
import { SUPPORT_GRANT_MAX_STATEMENT } from "../../core/zero-access/support-grant";
import { CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE, gatewayTokenField, hasControlCharacters, resourceId, text, tlsCertSha256Field, trimmedText } from "../http/schemas";

const ID_FORMATS = {
  dk: { pattern: /^dk_[A-Za-z0-9_-]{22}$/, what: "a device key id (`dk_` and 22 characters of [A-Za-z0-9_-])" },
  sgr: { pattern: /^sgr_[A-Za-z0-9_-]{22}$/, what: "a support grant id (`sgr_` and 22 characters of [A-Za-z0-9_-])" },
  osk: { pattern: /^osk_[A-Za-z0-9_-]{22}$/, what: "an operator support key id (`osk_` and 22 characters of [A-Za-z0-9_-])" },
  gag: { pattern: /^gag_[A-Za-z0-9_-]{22}$/, what: "a gateway setup grant id (`gag_` and 22 characters of [A-Za-z0-9_-])" },
} as const;

export const zeroAccessId = (kind: keyof typeof ID_FORMATS) =>
  z.string().regex(ID_FORMATS[kind].pattern, `must be ${ID_FORMATS[kind].what}`).describe(ID_FORMATS[kind].what);

export const instanceParams = z.strictObject({ id: resourceId("inst") });
export const grantParams = z.strictObject({ id: resourceId("inst"), grantId: zeroAccessId("sgr") });

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * A command line is a record of what an operator sent, refused lines included: an escape sequence or a NUL
 * in it is exactly what the user should see, so it is kept, written visibly (`\u001b`), never refused (a
 * refusal would stop the host's upload queue) and never stored raw (it could drive the reader's terminal).
 */
export function escapeControlCharacters(value: string): string {
  return value.replace(new RegExp(CONTROL_CHARACTERS.source, "gu"), (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

const base64 = (max: number) =>
  z.string().max(max, `must be at most ${max} characters`).regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64");

const isoTime = z
  .string()
  .regex(ISO_UTC, "must be an ISO 8601 UTC time such as 2026-12-05T10:00:00.000Z")
  .refine((value) => !Number.isNaN(Date.parse(value)), "must be a real date and time");

/** The public halves of a device key (core/zero-access/user-keys.ts); checked again as P-256 keys by the route. */
export const userPublicKeySchema = z
  .strictObject({
    signing: base64(200).describe("base64 SPKI DER of the ECDSA P-256 public key"),
    sealing: base64(200).describe("base64 SPKI DER of the ECDH P-256 public key"),
  })
  .describe("A device key's public halves");

export const createDeviceKeyBody = z.strictObject({
  name: trimmedText(1, 100).describe("A label for the device (`laptop`, `browser on phone`)"),
  key: userPublicKeySchema,
});

export const deviceKeyView = z.object({
  id: z.string(),
  name: z.string(),
  fingerprint: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const signedGrantBody = z.strictObject({
  statement: z
    .string()
    .min(2, "must be the signed JSON statement")
    .max(SUPPORT_GRANT_MAX_STATEMENT, `must be at most ${SUPPORT_GRANT_MAX_STATEMENT} characters`)
    .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE)
    .describe("The grant statement exactly as signed (core/zero-access/support-grant.ts)"),
  signature: z
    .string()
    .regex(/^[A-Za-z0-9_-]{86}$/, "must be the base64url of a 64-byte P-256 ECDSA signature (86 characters)")
    .describe("base64url ECDSA P-256 / SHA-256 signature over the statement's UTF-8 bytes"),
});

export const grantView = z.object({
  id: z.string(),
  instanceId: z.string(),
  status: z.enum(["active", "revoked", "expired"]),
  notBefore: z.string(),
  notAfter: z.string(),
  reason: z.string(),
  sources: z.array(z.string()),
  supportKeyFingerprints: z.array(z.string()),
  signer: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  cloudFirewall: z
    .enum(["opening", "open", "closing", "closed", "failed"])
    .describe(
      "The grant's SSH rule in the host's cloud firewall (tcp/22 from exactly `sources`): `opening` until the worker opened it, `open`, `closing` after a revoke or the end, `closed`, or `failed` (see `cloudFirewallError`; an ended grant's rule is retried by the sweep until closed)",
    ),
  cloudFirewallError: z.string().nullable().describe("Why the last cloud firewall change failed; null once one succeeded"),
});

export const MAX_COMMANDS_PER_UPLOAD = 100;
export const MAX_COMMAND_LINE = 4096;
/** seq is an int4 column on PostgreSQL. */
const MAX_SEQ = 2_147_483_647;

export const commandEntrySchema = z.strictObject({
  seq: z.number().int("must be an integer").min(0, "must be 0 or more").max(MAX_SEQ, `must be at most ${MAX_SEQ}`),
  grantId: zeroAccessId("sgr"),
  operator: text(1, 200).describe("Who the host saw: `ssh-key:SHA256:...` (the key sshd authenticated) or `grant:<id>`; mapped to the operator who registered that key"),
  commandLine: z
    .string()
    .min(1, "must be at least 1 character")
    .max(MAX_COMMAND_LINE, `must be at most ${MAX_COMMAND_LINE} characters`)
    .transform(escapeControlCharacters)
    .describe("The line the operator sent, as the wrapper received it (never its output); control characters are stored escaped (\\u001b)"),
  startedAt: isoTime,
  endedAt: isoTime,
  exitStatus: z.number().int("must be an integer").min(-1, "must be -1 (no status) to 255").max(255, "must be -1 (no status) to 255"),
  stdoutBytes: z.number().int("must be an integer").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER),
  stderrBytes: z.number().int("must be an integer").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER),
});

export const commandsBody = z.strictObject({
  entries: z
    .array(commandEntrySchema)
    .min(1, "must hold at least one entry")
    .max(MAX_COMMANDS_PER_UPLOAD, `must hold at most ${MAX_COMMANDS_PER_UPLOAD} entries`),
});

export const commandView = z.object({
  seq: z.number().int(),
  grantId: z.string(),
  operator: z.string(),
  operatorEmail: z.string().nullable().describe("The operator whose support key the host saw, when the key is registered"),
  commandLine: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  exitStatus: z.number().int(),
  stdoutBytes: z.number(),
  stderrBytes: z.number(),
});

const recipientSchema = z.strictObject({
  fingerprint: z.string().regex(FINGERPRINT, "must be a device key fingerprint SHA256:<43 base64 characters>"),
  ephemeral: base64(200),
  iv: base64(16),
  wrappedKey: base64(64),
});

/** The shape of core/zero-access/sealed-box.ts `SealedBox`, bounded (checkSealedBox runs too). */
export const sealedBoxSchema = z.strictObject({
  v: z.literal(1, "must be 1"),
  alg: z.literal(SEALED_BOX_ALGORITHM, `must be "${SEALED_BOX_ALGORITHM}"`),
  context: text(1, 200),
  recipients: z
    .array(recipientSchema)
    .min(1, "must list at least one recipient")
    .max(SEALED_BOX_MAX_RECIPIENTS, `must list at most ${SEALED_BOX_MAX_RECIPIENTS} recipients`),
  iv: base64(16),
  ciphertext: base64(Math.ceil(((SEALED_BOX_MAX_PLAINTEXT + 16) * 4) / 3) + 4),
});

export const clawchatKeysBody = z.strictObject({ box: sealedBoxSchema });

export const clawchatKeysView = z.object({ box: sealedBoxSchema, updatedAt: z.string() });

export const hostGrantsView = z.object({
  grants: z.array(z.object({ id: z.string(), statement: z.string(), signature: z.string() })),
  revoked: z.array(z.string()).describe("Grants revoked before their end: remove their access now"),
  now: z.string().describe("The API's clock (the host checks its own against it)"),
  gatewayTokenRotation: z
    .object({ requestedAt: z.string() })
    .nullable()
    .describe("A gateway token rotation the host is asked to carry out: new token, gateway restart, then `POST .../gateway-token`"),
  gatewayAdmin: z
    .array(z.object({ id: z.string(), statement: z.string(), signature: z.string() }))
    .describe("Unexpired, unrevoked gateway setup grants: while one verifies, the host lets the chat proxy's device hold operator.admin"),
});

/** The host's new gateway token after a rotation it carried out (same formats as at registration). */
export const hostGatewayTokenBody = z.strictObject({
  gatewayToken: gatewayTokenField.describe("The host's new gateway token; stored encrypted in the vault, never shown"),
  tlsCertSha256: tlsCertSha256Field.describe("SHA-256 of the gateway's TLS certificate; a change is refused (the pin stays)"),
});

export const operatorKeyBody = z.strictObject({
  publicKey: text(1, 1000).describe("An OpenSSH public key line: ssh-ed25519 or ecdsa-sha2-nistp256 (a comment is dropped)"),
});

export const operatorKeyView = z.object({
  id: z.string(),
  fingerprint: z.string(),
  publicKey: z.string(),
  operatorId: z.string(),
  operatorEmail: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const publishedSupportKeyView = z.object({ fingerprint: z.string(), publicKey: z.string() });

export const adminGrantView = z.object({
  id: z.string(),
  instanceId: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  sources: z.array(z.string()),
  supportKeyFingerprints: z.array(z.string()),
  address: z.string().nullable().describe("The host's public IPv4 address from its stack outputs, when known"),
});

export const pinnedKeysView = z.object({
  items: z.array(z.object({ fingerprint: z.string(), key: userPublicKeySchema })),
  supportAgent: z
    .enum(["present", "absent", "unknown"])
    .describe(
      "Whether the host runs the support agent, from its registration: present (it sent its host credential), absent (it registered without one: no grant can reach it), unknown (not registered yet; an AWS host, which fetches its agent at first boot, takes no grant until then)",
    ),
});
