/**
 * Every table that holds a data key wrapped by the master keyring, for the
 * operator's key rotation (`master-key status | rewrap | retire`): the vault's
 * credentials and the registered hosts' gateway tokens. A table added here is
 * counted, re-wrapped and guarded against retirement with the rest.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";

type Db = Kysely<Database>;

export const WRAPPED_KEY_TABLES = ["credentials", "instance_secrets"] as const;
export type WrappedKeyTable = (typeof WRAPPED_KEY_TABLES)[number];

/** What re-wrapping one data key needs: its wrap context (user, id, kind), the wrapped key and who wrapped it. */
export interface WrappedKeyRow {
  id: string;
  user_id: string;
  kind: string;
  wrapped_key: string;
  key_version: number;
  /** `local` (the master keyring), `kms` (AWS) or `gcp-kms`; rows from before the column was filled count as `local`. */
  wrap_kind: string;
}

/** Rows of `table` whose data key is not wrapped by `target` (another wrapper kind or another version). */
export async function listStaleWraps(db: Db, table: WrappedKeyTable, target: { version: number; kind: string }, limit: number): Promise<WrappedKeyRow[]> {
  // Both tables have these columns with the same types; Kysely is typed against one of them.
  const rows = await db
    .selectFrom(table as "credentials")
    .select(["id", "user_id", "kind", "wrapped_key", "key_version", "wrap_kind"])
    .where("wrapped_key", "is not", null)
    .where((eb) => eb.or([eb("key_version", "!=", target.version), eb("wrap_kind", "is", null), eb("wrap_kind", "!=", target.kind)]))
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.flatMap((row) =>
    row.wrapped_key === null || row.key_version === null
      ? []
      : [{ id: row.id, user_id: row.user_id, kind: row.kind, wrapped_key: row.wrapped_key, key_version: Number(row.key_version), wrap_kind: row.wrap_kind ?? "local" }],
  );
}

/** Replaces a wrapped key only if nobody re-wrapped it meanwhile (still the wrapped key it was read with). */
export async function replaceWrap(
  db: Db,
  table: WrappedKeyTable,
  row: Pick<WrappedKeyRow, "id" | "wrapped_key">,
  to: { wrappedKey: string; keyVersion: number; kind: string },
): Promise<boolean> {
  const result = await db
    .updateTable(table as "credentials")
    .set({ wrapped_key: to.wrappedKey, key_version: to.keyVersion, wrap_kind: to.kind })
    .where("id", "=", row.id)
    .where("wrapped_key", "=", row.wrapped_key)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Wrapped data keys per wrapper kind and version (`local:1`, `kms:2`), over every table. */
export async function countWrapsByVersion(db: Db): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of WRAPPED_KEY_TABLES) {
    const rows = await db
      .selectFrom(table as "credentials")
      .select(["key_version", "wrap_kind", (eb) => eb.fn.countAll<string | number>().as("n")])
      .where("wrapped_key", "is not", null)
      .groupBy(["key_version", "wrap_kind"])
      .execute();
    for (const row of rows) {
      if (row.key_version === null) continue;
      const key = `${row.wrap_kind ?? "local"}:${Number(row.key_version)}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(row.n));
    }
  }
  return counts;
}
