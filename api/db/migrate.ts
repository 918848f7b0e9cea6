/**
 * Runs every migration file in `api/db/migrations/` in name order
 * (`001_core.ts`, `002_...`). Each migration runs in its own transaction on
 * PostgreSQL; Kysely's migration lock keeps several processes from migrating
 * at once.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from "kysely";
import type { Database } from "./schema";

export const MIGRATIONS_DIR = join(__dirname, "migrations");

/** Migrates to the latest version; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FolderMigrationProvider(MIGRATIONS_DIR),
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  const failed = result.results?.find((r) => r.status === "Error");
  if (result.error !== undefined) {
    const name = failed ? ` \`${failed.migrationName}\`` : "";
    throw new Error(`database migration${name} failed: ${String(result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Every `NNN_name.ts|js` file of the folder (not declaration files), imported
 * from here rather than from inside Kysely so that whatever loads this module
 * (tsx, vitest, plain node on compiled output) also loads the migrations.
 */
export class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.folder))
      .filter((file) => /^\d+_.+\.(ts|js)$/.test(file) && !file.endsWith(".d.ts"))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const module = (await import(join(this.folder, file))) as Partial<Migration> & { default?: Partial<Migration> };
      const migration = typeof module.up === "function" ? module : module.default;
      if (typeof migration?.up !== "function") throw new Error(`migration \`${file}\` exports no \`up\` function`);
      migrations[file.replace(/\.(ts|js)$/, "")] = migration as Migration;
    }
    return migrations;
  }
}
