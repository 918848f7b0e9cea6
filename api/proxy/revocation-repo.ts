/** SQL of the proxy's revocation check: what the database says now about open connections' users, keys and instances. */
import type { Kysely } from "kysely";
import type { Database, InstanceStatus, Timestamp } from "../db/schema";

export interface RevocationFacts {
  users: Map<string, { tokens_valid_after?: Timestamp | null | undefined }>;
  keys: Map<string, { revoked_at: Timestamp | null; expires_at: Timestamp | null }>;
  instances: Map<string, { id: string; status: InstanceStatus; registered_at: Timestamp | null }>;
  /** Instances with a `destroy` queued or running. */
  beingDestroyed: Set<string>;
}

/** Batched reads (one query per table) for the given users, API keys and instances. */
export async function readRevocationFacts(
  db: Kysely<Database>,
  ids: { userIds: string[]; keyIds: string[]; instanceIds: string[] },
): Promise<RevocationFacts> {
  const users = new Map(
    (await db.selectFrom("users").select(["id", "tokens_valid_after"]).where("id", "in", ids.userIds).execute()).map((u) => [u.id, u]),
  );
  const keys =
    ids.keyIds.length === 0
      ? new Map<string, { revoked_at: string | null; expires_at: string | null }>()
      : new Map((await db.selectFrom("api_keys").select(["id", "revoked_at", "expires_at"]).where("id", "in", ids.keyIds).execute()).map((k) => [k.id, k]));
  const instances = new Map(
    (await db.selectFrom("instances").select(["id", "status", "registered_at"]).where("id", "in", ids.instanceIds).execute()).map((i) => [i.id, i]),
  );
  const beingDestroyed = new Set(
    (
      await db
        .selectFrom("jobs")
        .select("instance_id")
        .where("instance_id", "in", ids.instanceIds)
        .where("operation", "=", "destroy")
        .where("state", "in", ["queued", "running"])
        .execute()
    ).map((j) => j.instance_id),
  );
  return { users, keys, instances, beingDestroyed };
}
