/**
 * The credential kinds the vault accepts, as zod schemas (they double as the
 * request body types and as the OpenAPI document), and how each splits into
 * displayable metadata and the secret part that gets encrypted.
 *
 * - `aws`: an IAM role ARN plus the external ID (seed 001 §3 option C). Nothing
 *   secret: no ciphertext is stored at all.
 * - `gcp`: a Workload Identity Federation external-account configuration (no
 *   service-account key: one is refused). Encrypted.
 * - `digitalocean`: a personal access token. Encrypted.
 */
import { z } from "zod";
import { FREE_FORM_JSON_BOUNDS, refineWithinBounds } from "../http/bounded-json";
import { CONTROL_CHARACTERS_MESSAGE, hasControlCharacters, trimmedText } from "../http/schemas";

const name = trimmedText(1, 100).describe("A label of your choice");
const passphrase = z
  .string()
  .min(12, "must be at least 12 characters")
  .max(1024)
  .refine((value) => !hasControlCharacters(value), CONTROL_CHARACTERS_MESSAGE)
  .optional()
  .describe("Passphrase mode: the credential can then only be decrypted with this passphrase");

const ROLE_ARN = /^arn:(aws|aws-us-gov|aws-cn):iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

export const awsCredentialInput = z.strictObject({
  kind: z.literal("aws"),
  name,
  roleArn: z.string().regex(ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/claw-provisioner"),
  externalId: z
    .string()
    .regex(/^[\w+=,.@:/-]{2,1224}$/, "must be 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]"),
});

const gcpExternalAccount = z
  .looseObject({
    type: z.literal("external_account", "must be `external_account` (Workload Identity Federation)"),
    audience: z.string().min(1).max(2048),
    subject_token_type: z.string().min(1).max(512),
    token_url: z.url(),
    service_account_impersonation_url: z.url().optional(),
  })
  .refine((config) => !("private_key" in config), {
    message: "service-account keys are refused: use a Workload Identity Federation configuration",
    path: ["private_key"],
  })
  // Its other members are free-form: bounded before anything walks them.
  .superRefine(refineWithinBounds(FREE_FORM_JSON_BOUNDS));

export const gcpCredentialInput = z.strictObject({
  kind: z.literal("gcp"),
  name,
  config: gcpExternalAccount.describe("The external-account configuration JSON (`gcloud iam workload-identity-pools create-cred-config`)"),
  passphrase,
});

export const digitalOceanCredentialInput = z.strictObject({
  kind: z.literal("digitalocean"),
  name,
  token: z
    .string()
    .regex(/^(dop_v1_)?[a-f0-9]{64}$/, "must be a DigitalOcean personal access token (`dop_v1_` and 64 hex characters)"),
  passphrase,
});

export const credentialInput = z.discriminatedUnion("kind", [
  awsCredentialInput,
  gcpCredentialInput,
  digitalOceanCredentialInput,
]);
export type CredentialInput = z.infer<typeof credentialInput>;

/** The decrypted form handed to callers of `vault.decrypt`. */
export type CredentialSecret =
  | { kind: "aws"; roleArn: string; externalId: string }
  | { kind: "gcp"; config: Record<string, unknown> }
  | { kind: "digitalocean"; token: string };

/** Splits an input into what is stored in clear (metadata) and what is encrypted (secret, or none). */
export function splitCredential(input: CredentialInput): {
  metadata: Record<string, string>;
  secret: CredentialSecret | undefined;
} {
  switch (input.kind) {
    case "aws":
      return { metadata: { roleArn: input.roleArn, externalId: input.externalId }, secret: undefined };
    case "gcp": {
      const metadata: Record<string, string> = { audience: input.config.audience };
      if (input.config.service_account_impersonation_url) {
        metadata.serviceAccountImpersonationUrl = input.config.service_account_impersonation_url;
      }
      return { metadata, secret: { kind: "gcp", config: input.config } };
    }
    case "digitalocean":
      return { metadata: {}, secret: { kind: "digitalocean", token: input.token } };
    default: {
      const unreachable: never = input;
      throw new Error(`unknown credential kind ${String(unreachable)}`);
    }
  }
}
