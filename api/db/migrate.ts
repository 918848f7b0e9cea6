/**
 * Runs every migration file in `api/db/migrations/` in name order
 * (`001_core.ts`, `002_...`). Each migration runs in its own transaction on
 * PostgreSQL; Kysely's migration lock keeps several processes from migrating
 * at once.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { FileMigrationProvider, type Kysely, type MigrationResultSet, Migrator } from "kysely";
import type { Database } from "./schema";

export const MIGRATIONS_DIR = join(__dirname, "migrations");

/** Migrates to the latest version; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new TypeScriptMigrationProvider(MIGRATIONS_DIR),
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  const failed = result.results?.find((r) => r.status === "Error");
  if (result.error !== undefined) {
    const name = failed ? ` \`${failed.migrationName}\`` : "";
    throw new Error(`database migration${name} failed: ${String(result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** FileMigrationProvider limited to `.ts`/`.js` sources (not declaration files). */
class TypeScriptMigrationProvider extends FileMigrationProvider {
  constructor(folder: string) {
    super({
      fs: {
        readdir: async (path) =>
          (await fs.readdir(path)).filter((file) => /^\d+_.+\.(ts|js)$/.test(file) && !file.endsWith(".d.ts")),
      },
      path: { join },
      migrationFolder: folder,
    });
  }
}
