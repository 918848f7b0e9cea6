/**
 * PostgreSQL dropping a pooled connection (restart, failover,
 * `pg_terminate_backend`) must not crash the API: the pool reports it to
 * `onIdleError`, discards the connection and the next query reconnects.
 */
import { sql } from "kysely";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../api/db/connect";
import { POSTGRES_URL, skipReasonWithoutPostgres } from "./jobs/support/db";

const skip = skipReasonWithoutPostgres("the dropped-connection test");

describe.skipIf(skip !== undefined)("PostgreSQL pool", () => {
  const errors: Error[] = [];
  let handle: DatabaseHandle;

  beforeAll(() => {
    handle = openDatabase({ engine: "postgres", url: POSTGRES_URL! }, { poolSize: 1, onIdleError: (error) => errors.push(error) });
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("survives the server terminating an idle connection and reconnects on the next query", async () => {
    const first = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db);
    const pid = first.rows[0]!.pid;

    const admin = new Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      const terminated = await admin.query("select pg_terminate_backend($1) as ok", [pid]);
      expect(terminated.rows[0].ok).toBe(true);
    } finally {
      await admin.end();
    }
    const deadline = Date.now() + 5_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

    expect(errors).toHaveLength(1);
    expect((errors[0] as Error & { code?: string }).code).toBe("57P01");
    const second = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db);
    expect(second.rows[0]!.pid).not.toBe(pid);
  });
});
