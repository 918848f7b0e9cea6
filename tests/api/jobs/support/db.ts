/**
 * Test databases for the job queue: a fresh SQLite file, or a fresh
 * PostgreSQL database created next to `TEST_DATABASE_URL` (unique per test
 * file, dropped afterwards, so files running in parallel never share rows).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { Client } from "pg";
import { type DatabaseHandle, openDatabase } from "../../../../api/db/connect";
import { migrateToLatest } from "../../../../api/db/migrate";
import type { Cloud, Database, InstanceStatus } from "../../../../api/db/schema";
import { newInstanceId, stackNameFor } from "../../../../api/stacks/naming";

export interface TestDatabase {
  handle: DatabaseHandle;
  /** `sqlite:<file>` or the PostgreSQL URL of this test's own database. */
  url: string;
  dispose(): Promise<void>;
}

export const POSTGRES_URL = process.env.TEST_DATABASE_URL;

export function skipReasonWithoutPostgres(what: string): string | undefined {
  if (POSTGRES_URL) return undefined;
  const reason = `TEST_DATABASE_URL is not set: skipping ${what} (bash .ci/run sets it)`;
  console.warn(`[skip] ${reason}`);
  return reason;
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "clawstack-jobs-"));
  const file = join(dir, "test.sqlite");
  const handle = openDatabase({ engine: "sqlite", file });
  await migrateToLatest(handle.db);
  return {
    handle,
    url: `sqlite:${file}`,
    async dispose() {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates `<name>` in the cluster of TEST_DATABASE_URL, migrated to the latest version. */
export async function createPostgresDatabase(poolSize = 10): Promise<TestDatabase> {
  if (!POSTGRES_URL) throw new Error("TEST_DATABASE_URL is not set");
  const name = `jobs_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const handle = openDatabase({ engine: "postgres", url: url.href }, { poolSize });
  await migrateToLatest(handle.db);
  return {
    handle,
    url: url.href,
    async dispose() {
      await handle.close();
      const cleanup = new Client({ connectionString: POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** A user row for foreign keys (the `free` plan exists after migration 001). */
export async function insertUser(handle: DatabaseHandle, id = `usr_${randomBytes(6).toString("hex")}`): Promise<string> {
  const at = new Date().toISOString();
  await handle.db
    .insertInto("users")
    .values({ id, email: `${id}@example.test`, password_hash: "x", role: "user", plan_id: "free", created_at: at, updated_at: at })
    .execute();
  return id;
}

/** An instance row (no job) for tests that need one to exist: defaults to a ready DigitalOcean host. */
export async function insertInstance(
  db: Kysely<Database>,
  values: { userId: string; cloud?: Cloud; status?: InstanceStatus; region?: string; credentialId?: string | null; registeredAt?: string | null },
): Promise<{ id: string; stackName: string }> {
  const id = newInstanceId();
  const stackName = stackNameFor(values.userId, id);
  const cloud = values.cloud ?? "digitalocean";
  const region = values.region ?? (cloud === "aws" ? "us-east-1" : cloud === "gcp" ? "europe-west1" : "nyc3");
  const at = new Date().toISOString();
  await db
    .insertInto("instances")
    .values({
      id, user_id: values.userId, cloud, region, size: "small", credential_id: values.credentialId === undefined ? "cred_test" : values.credentialId,
      config: JSON.stringify({ cloud, region }), stack_name: stackName, status: values.status ?? "ready", outputs: null, last_job_id: null,
      idempotency_key: null, request_hash: null, gateway_token_ref: null, tls_fingerprint: null, registered_at: values.registeredAt ?? null,
      created_at: at, updated_at: at,
    })
    .execute();
  return { id, stackName };
}
