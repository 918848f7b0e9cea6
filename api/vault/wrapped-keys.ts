/**
 * Every table that holds a data key wrapped by the master keyring, for the
 * operator's key rotation (`master-key status | rewrap | retire`): the vault's
 * credentials and the registered hosts' gateway tokens. A table added here is
 * counted, re-wrapped and guarded against retirement with the rest.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import "../jobs/tables";

type Db = Kysely<Database>;

export const WRAPPED_KEY_TABLES = ["credentials", "instance_secrets"] as const;
export type WrappedKeyTable = (typeof WRAPPED_KEY_TABLES)[number];

/** What re-wrapping one data key needs: its wrap context (user, id, kind) and the wrapped key itself. */
export interface WrappedKeyRow {
  table: WrappedKeyTable;
  id: string;
  user_id: string;
  kind: string;
  wrapped_key: string;
  key_version: number;
}

/** Rows of `table` whose data key is wrapped under another master key version than `version`. */
export async function listStaleWraps(db: Db, table: WrappedKeyTable, version: number, limit: number): Promise<WrappedKeyRow[]> {
  // Both tables have these columns with the same types; Kysely is typed against one of them.
  const rows = await db
    .selectFrom(table as "credentials")
    .select(["id", "user_id", "kind", "wrapped_key", "key_version"])
    .where("wrapped_key", "is not", null)
    .where("key_version", "!=", version)
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.flatMap((row) =>
    row.wrapped_key === null || row.key_version === null
      ? []
      : [{ table, id: row.id, user_id: row.user_id, kind: row.kind, wrapped_key: row.wrapped_key, key_version: Number(row.key_version) }],
  );
}

/** Replaces a wrapped key only if nobody re-wrapped it meanwhile (still on `from`). */
export async function replaceWrap(db: Db, table: WrappedKeyTable, id: string, from: number, to: { wrappedKey: string; keyVersion: number }): Promise<boolean> {
  const result = await db
    .updateTable(table as "credentials")
    .set({ wrapped_key: to.wrappedKey, key_version: to.keyVersion })
    .where("id", "=", id)
    .where("key_version", "=", from)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Wrapped data keys per master key version, over every table (for `status` and the `retire` guard). */
export async function countWrapsByVersion(db: Db): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const table of WRAPPED_KEY_TABLES) {
    const rows = await db
      .selectFrom(table as "credentials")
      .select(["key_version", (eb) => eb.fn.countAll<string | number>().as("n")])
      .where("wrapped_key", "is not", null)
      .groupBy("key_version")
      .execute();
    for (const row of rows) {
      if (row.key_version === null) continue;
      const version = Number(row.key_version);
      counts.set(version, (counts.get(version) ?? 0) + Number(row.n));
    }
  }
  return counts;
}
