/** SQL for instances (one row per OpenClaw host and its stack). */
import type { Kysely, Transaction } from "kysely";
import type { Cloud, Database, Instance, InstanceStatus } from "../db/schema";

type Db = Kysely<Database> | Transaction<Database>;

function nowIso(): string {
  return new Date().toISOString();
}

export async function insertInstance(db: Db, row: Instance): Promise<void> {
  await db.insertInto("instances").values(row).execute();
}

export function getInstance(db: Db, instanceId: string): Promise<Instance | undefined> {
  return db.selectFrom("instances").selectAll().where("id", "=", instanceId).executeTakeFirst();
}

export function findUserInstance(db: Db, userId: string, instanceId: string): Promise<Instance | undefined> {
  return db.selectFrom("instances").selectAll().where("id", "=", instanceId).where("user_id", "=", userId).executeTakeFirst();
}

export function listUserInstances(db: Db, userId: string): Promise<Instance[]> {
  return db.selectFrom("instances").selectAll().where("user_id", "=", userId).orderBy("created_at", "desc").execute();
}

/** The user's instance created with this idempotency key, if any. */
export function findInstanceByIdempotencyKey(db: Db, userId: string, key: string): Promise<Instance | undefined> {
  return db.selectFrom("instances").selectAll().where("user_id", "=", userId).where("idempotency_key", "=", key).executeTakeFirst();
}

/** Points the instance at its latest job; `touch` also stamps `updated_at` and, given, the status the job puts it in. */
export async function setInstanceLastJob(db: Db, instanceId: string, jobId: string, touch?: { status?: InstanceStatus | undefined }): Promise<void> {
  await db
    .updateTable("instances")
    .set({ last_job_id: jobId, ...(touch ? { updated_at: nowIso(), ...(touch.status ? { status: touch.status } : {}) } : {}) })
    .where("id", "=", instanceId)
    .execute();
}

export async function setInstanceStatus(
  db: Db,
  instanceId: string,
  status: InstanceStatus,
  outputs?: Record<string, unknown>,
): Promise<void> {
  await db
    .updateTable("instances")
    .set({ status, updated_at: nowIso(), ...(outputs !== undefined ? { outputs: JSON.stringify(outputs) } : {}) })
    .where("id", "=", instanceId)
    .execute();
}

/** What a host's registration changes: its sealed gateway token's id and its pinned TLS fingerprint. */
export async function markInstanceRegistered(db: Db, instanceId: string, registration: { secretId: string; tlsFingerprint: string }): Promise<void> {
  const at = nowIso();
  await db
    .updateTable("instances")
    .set({ gateway_token_ref: registration.secretId, tls_fingerprint: registration.tlsFingerprint, registered_at: at, updated_at: at })
    .where("id", "=", instanceId)
    .execute();
}

/** Each user's and region's instances on `cloud` in one of `statuses`, with one of their credentials. */
export function listInstanceOwners(
  db: Db,
  cloud: Cloud,
  statuses: readonly InstanceStatus[],
): Promise<{ user_id: string; region: string; credential_id: string | null }[]> {
  return db
    .selectFrom("instances")
    .select(["user_id", "region", (eb) => eb.fn.max("credential_id").as("credential_id")])
    .where("cloud", "=", cloud)
    .where("status", "in", [...statuses])
    .groupBy(["user_id", "region"])
    .execute();
}
