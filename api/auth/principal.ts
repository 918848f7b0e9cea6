/**
 * Who is making a request. Users authenticate with a JWT access token and
 * act with their role; agents authenticate with an API key (`clk_...`), act
 * for the user who made the key, never as admin, and only within its scopes.
 */
import type { Role } from "../db/schema";

/** Scopes an agent API key can hold. Users implicitly hold all of them. */
export const SCOPES = [
  "account:read",
  "credentials:read",
  "credentials:test",
  "instances:read",
  "instances:write",
  "jobs:read",
  "audit:read",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  userId: string;
  role: Role;
  kind: "user" | "agent";
  /** For agents the key's scopes; for users every scope. */
  scopes: readonly Scope[];
  /** The API key id when `kind` is `agent`. */
  apiKeyId?: string;
}
