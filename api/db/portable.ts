/**
 * The few column types that differ between SQLite and PostgreSQL, for
 * migrations. Everything else (text, integer, real) is written the same way.
 */
import { type ColumnDefinitionBuilder, type Kysely, PostgresAdapter, sql } from "kysely";

export type Dialect = "sqlite" | "postgres";

// The migration's `db` is schema-less on purpose (migrations must not depend on today's types).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

export function dialectOf(db: AnyKysely): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * An auto-incrementing integer primary key: `integer primary key autoincrement`
 * on SQLite, `serial primary key` on PostgreSQL (int4, which `pg` returns as a
 * JavaScript number).
 */
export function autoIncrementId(db: AnyKysely) {
  const dialect = dialectOf(db);
  return {
    type: dialect === "postgres" ? sql`serial` : sql`integer`,
    build: (column: ColumnDefinitionBuilder) =>
      dialect === "postgres" ? column.primaryKey() : column.primaryKey().autoIncrement(),
  };
}
