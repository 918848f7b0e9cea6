/** Response shapes: what the API shows of its rows (never a hash, a salt or ciphertext). */
import { z } from "zod";
import { CLOUDS } from "../../core/presets";
import type { ApiKey, AuditEntry, Credential, Invite, PlansTable, User } from "../db/schema";

export const userViewSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(["user", "admin"]),
  plan: z.string(),
  createdAt: z.string(),
});

export function userView(user: User): z.infer<typeof userViewSchema> {
  return { id: user.id, email: user.email, role: user.role, plan: user.plan_id, createdAt: user.created_at };
}

/** What a sign-out everywhere (password change, forced sign-out) answers. */
export const signOutViewSchema = z.object({
  apiKeysRevoked: z.number().int().describe("How many agent API keys were revoked (0 with `keepApiKeys: true`)"),
});

export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe("Public part of the key, `clk_...`"),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export function apiKeyView(key: ApiKey): z.infer<typeof apiKeyViewSchema> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: JSON.parse(key.scopes) as string[],
    createdAt: key.created_at,
    expiresAt: key.expires_at,
    lastUsedAt: key.last_used_at,
    revokedAt: key.revoked_at,
  };
}

export const credentialViewSchema = z.object({
  id: z.string(),
  kind: z.enum(CLOUDS),
  name: z.string(),
  metadata: z.record(z.string(), z.string()).describe("Non-secret facts (AWS role ARN, GCP audience)"),
  encrypted: z.boolean().describe("False for AWS: nothing secret is stored"),
  passphraseProtected: z.boolean(),
  keyVersion: z.number().int().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  lastTestedAt: z.string().nullable(),
  lastTestOk: z.boolean().nullable(),
});

export function credentialView(row: Credential): z.infer<typeof credentialViewSchema> {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    encrypted: row.ciphertext !== null,
    passphraseProtected: row.passphrase_salt !== null,
    keyVersion: row.key_version,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    lastTestedAt: row.last_tested_at,
    lastTestOk: row.last_test_ok === null ? null : row.last_test_ok === 1,
  };
}

export const auditViewSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actorUserId: z.string().nullable(),
  actorKind: z.string(),
  apiKeyId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  result: z.string(),
  statusCode: z.number().int().nullable(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  latencyMs: z.number(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
});

export function auditView(entry: AuditEntry): z.infer<typeof auditViewSchema> {
  return {
    id: Number(entry.id),
    at: entry.at,
    actorUserId: entry.actor_user_id,
    actorKind: entry.actor_kind,
    apiKeyId: entry.api_key_id,
    action: entry.action,
    target: entry.target,
    result: entry.result,
    statusCode: entry.status_code,
    bytesIn: Number(entry.bytes_in),
    bytesOut: Number(entry.bytes_out),
    latencyMs: Number(entry.latency_ms),
    ip: entry.ip,
    requestId: entry.request_id,
  };
}

export const planViewSchema = z.object({ id: z.string(), name: z.string(), maxInstances: z.number().int() });

export function planView(plan: PlansTable): z.infer<typeof planViewSchema> {
  return { id: plan.id, name: plan.name, maxInstances: Number(plan.max_instances) };
}

export const inviteViewSchema = z.object({
  id: z.string(),
  email: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: z.string().nullable(),
});

export function inviteView(invite: Invite): z.infer<typeof inviteViewSchema> {
  return { id: invite.id, email: invite.email, createdAt: invite.created_at, expiresAt: invite.expires_at, usedAt: invite.used_at };
}
