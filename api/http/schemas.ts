/**
 * Schemas shared by routes: they validate requests, type handlers and make
 * up the OpenAPI document. Every object is strict: unknown fields are refused.
 */
import { z } from "zod";

export const errorBody = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string().describe("What was wrong, naming the field in backticks"),
    field: z.string().optional().describe("Dotted path of the offending field, e.g. `body.email`"),
    requestId: z.string(),
  })
  .describe("Every error answer");

/** Standard error responses to list in a route's schema. */
export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  413: errorBody,
  429: errorBody,
} as const;

/**
 * Characters no field of this API has a use for: C0 and C1 controls (NUL among them; PostgreSQL
 * refuses NUL in text where SQLite stores it), DEL, line and paragraph separators, bidirectional
 * overrides and isolates (text that displays differently from what it is), and unpaired
 * surrogates (not encodable as UTF-8). Refused in the schema, so both engines answer alike.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

export const CONTROL_CHARACTERS_MESSAGE =
  "must not contain control characters (U+0000-U+001F, U+007F-U+009F), line separators, bidirectional overrides or unpaired surrogates";

export function hasControlCharacters(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}

/** A string of `min` to `max` characters without control characters (names, labels, filters). */
export const text = (min: number, max: number) =>
  z
    .string()
    .min(min, `must be at least ${min} character${min === 1 ? "" : "s"}`)
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE);

/** The same, then trimmed (labels shown in lists): a control character is refused, never trimmed away. */
export const trimmedText = (min: number, max: number) =>
  z
    .string()
    .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE)
    .trim()
    .min(min, `must be at least ${min} character${min === 1 ? "" : "s"}`)
    .max(max, `must be at most ${max} characters`);

/**
 * Ids as the API makes them: `api/db/ids.ts` `newId(prefix)` (`usr_`, `cred_`, `job_`, `inv_`:
 * 128 random bits in base64url, 22 characters), `api/stacks/naming.ts` (`inst_` and 32 hex) and
 * `api/auth/api-key-format.ts` (`key_` and the key's 12-character id). Anything else is refused
 * with a 400 before it reaches a query.
 */
export const ID_FORMATS = {
  usr: /^usr_[A-Za-z0-9_-]{22}$/,
  cred: /^cred_[A-Za-z0-9_-]{22}$/,
  job: /^job_[A-Za-z0-9_-]{22}$/,
  inv: /^inv_[A-Za-z0-9_-]{22}$/,
  inst: /^inst_[0-9a-f]{32}$/,
  key: /^key_[A-Za-z0-9]{12}$/,
} as const;

const ID_DESCRIPTIONS: Record<keyof typeof ID_FORMATS, string> = {
  usr: "an account id (`usr_` and 22 characters of [A-Za-z0-9_-])",
  cred: "a credential id (`cred_` and 22 characters of [A-Za-z0-9_-])",
  job: "a job id (`job_` and 22 characters of [A-Za-z0-9_-])",
  inv: "an invitation id (`inv_` and 22 characters of [A-Za-z0-9_-])",
  inst: "an instance id (`inst_` and 32 lowercase hex characters)",
  key: "an API key id (`key_` and 12 letters or digits)",
};

export const resourceId = (kind: keyof typeof ID_FORMATS) =>
  z.string().regex(ID_FORMATS[kind], `must be ${ID_DESCRIPTIONS[kind]}`).describe(ID_DESCRIPTIONS[kind]);

/** `{id}` path parameters of one kind of resource. */
export const idParamsOf = (kind: keyof typeof ID_FORMATS) => z.strictObject({ id: resourceId(kind) });

/** Opaque 256-bit tokens in base64url (`api/auth/tokens.ts` `randomToken`), after their prefix if any. */
export const opaqueToken = (prefix: string, what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`),
      `must be ${what} (${prefix === "" ? "" : `\`${prefix}\` and `}43 characters of [A-Za-z0-9_-])`,
    );

export const email = z
  .string()
  .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE)
  .trim()
  .toLowerCase()
  .pipe(z.email("must be an email address").max(254));

/** A new password: any printable characters (Unicode included), never control characters. */
export const password = z
  .string()
  .min(12, "must be at least 12 characters")
  .max(1024, "must be at most 1024 characters")
  .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE);

/** A password presented to be checked (login, re-authentication): the same characters, any length up to 1024. */
export const presentedPassword = text(1, 1024);

export const bearerSecurity = [{ bearerAuth: [] }];

/** A host's gateway token, as the host sends it (registration, rotation); stored sealed, never shown. */
export const gatewayTokenField = z.string().regex(/^[\x21-\x7e]{32,512}$/, "must be 32 to 512 printable ASCII characters without spaces");

/** The SHA-256 of the gateway's TLS certificate (DER) in hex, colons allowed, normalized to 64 lowercase hex characters. */
export const tlsCertSha256Field = z
  .string()
  .max(95, "must be the SHA-256 of the certificate (DER) in hex, 64 characters, colons allowed")
  .transform((value) => value.replace(/:/g, "").toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, "must be the SHA-256 of the certificate (DER) in hex, 64 characters, colons allowed"));
