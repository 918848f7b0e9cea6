/**
 * The database plugin: opens SQLite or PostgreSQL, runs every migration, and
 * decorates `app.db` (a `Kysely<Database>`) and `app.dbEngine`. Closed when
 * the app closes (after in-flight requests finished).
 */
import fp from "fastify-plugin";
import type { Kysely } from "kysely";
import type { DatabaseConfig } from "../config";
import { type Engine, openDatabase } from "./connect";
import { migrateToLatest } from "./migrate";
import type { Database } from "./schema";

declare module "fastify" {
  interface FastifyInstance {
    db: Kysely<Database>;
    dbEngine: Engine;
  }
}

export const dbPlugin = fp<{ database: DatabaseConfig }>(
  async (app, { database }) => {
    const handle = openDatabase(database, {
      onIdleError: (error) => app.log.warn({ err: { message: error.message } }, "database dropped an idle connection; the pool reconnects"),
    });
    try {
      const applied = await migrateToLatest(handle.db);
      if (applied.length > 0) app.log.info({ migrations: applied }, "database migrated");
    } catch (error) {
      await handle.close();
      throw error;
    }
    app.decorate("db", handle.db);
    app.decorate("dbEngine", handle.engine);
    app.addHook("onClose", async () => {
      await handle.close();
    });
  },
  { name: "clawstack-db" },
);
