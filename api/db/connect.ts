/**
 * Opens the database named by the config: SQLite (better-sqlite3, WAL mode,
 * foreign keys on) by default, PostgreSQL (pg pool) for `postgres://` URLs.
 * Both give the same `Kysely<Database>`.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, type Dialect, type SqliteDatabase } from "kysely";
import { Pool } from "pg";
import type { DatabaseConfig } from "../config";
import type { Database } from "./schema";

export type Engine = DatabaseConfig["engine"];

export interface DatabaseHandle {
  db: Kysely<Database>;
  engine: Engine;
  /** Closes the pool or the file (checkpointing the WAL). */
  close(): Promise<void>;
}

export interface OpenOptions {
  poolSize?: number;
  /**
   * Told when PostgreSQL drops an idle pooled connection (server restart,
   * failover, `pg_terminate_backend`). The pool has already discarded the
   * connection and opens a new one on the next query; without a listener the
   * pool's `error` event would crash the process.
   */
  onIdleError?: (error: Error) => void;
}

export function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): DatabaseHandle {
  if (config.engine === "sqlite") {
    mkdirSync(dirname(config.file), { recursive: true, mode: 0o700 });
    const file = new SQLite(config.file);
    // Owner-only: the file holds password hashes and ciphertext. SQLite gives the -wal/-shm files the same mode.
    chmodSync(config.file, 0o600);
    file.pragma("journal_mode = WAL");
    file.pragma("foreign_keys = ON");
    file.pragma("busy_timeout = 5000");
    file.pragma("synchronous = NORMAL");
    const db = new Kysely<Database>({ dialect: immediateTransactions(new SqliteDialect({ database: withStatementCache(file) })) });
    return { db, engine: "sqlite", close: () => db.destroy() };
  }
  const pool = new Pool({ connectionString: config.url, max: options.poolSize ?? 10 });
  const onIdleError = options.onIdleError ?? (() => undefined);
  pool.on("error", (error: Error) => onIdleError(error));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, engine: "postgres", close: () => db.destroy() };
}

/** Distinct SQL texts kept prepared; the API issues a few hundred at most (queries are built, not concatenated with values). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely's SQLite driver prepares every query anew (a parse and plan per request, ~4 % of an authenticated
 * read's CPU). better-sqlite3 statements are reusable and run synchronously, so one prepared statement per
 * SQL text serves every later call; the oldest is dropped past the bound. Nothing here streams (`.stream()`
 * would hold a statement busy), and SQLite re-prepares a cached statement by itself after a schema change.
 */
function withStatementCache(file: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  const prepare = (source: string): SQLite.Statement => {
    let statement = statements.get(source);
    if (statement === undefined) {
      statement = file.prepare(source);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statements.set(source, statement);
    }
    return statement;
  };
  return {
    prepare,
    close: () => {
      statements.clear();
      file.close();
    },
  };
}

/**
 * Transactions on SQLite take the write lock when they begin (`BEGIN IMMEDIATE`), waiting up to
 * `busy_timeout` for it. With Kysely's deferred `BEGIN`, a transaction that reads and then writes fails at
 * once (SQLITE_BUSY, a 500) when another process, such as `admin-cli master-key rewrap`, wrote in between;
 * the rotation load test caught it.
 */
function immediateTransactions(dialect: SqliteDialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => {
      const driver = dialect.createDriver();
      driver.beginTransaction = async (connection) => {
        await connection.executeQuery(CompiledQuery.raw("begin immediate"));
      };
      return driver;
    },
  };
}
