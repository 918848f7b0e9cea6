/**
 * A transaction runner: code that must commit several writes together takes
 * one, so its caller decides what else joins the transaction. Routes pass
 * `app.audited(...)`, which adds the request's audit entry; everything else
 * uses `plainTransaction(db)`.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema";

export type Transact = <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;

/** A runner for one kind of result (so the caller can look at it, e.g. for the audit target). */
export type TransactOf<T> = (work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;

export function plainTransaction(db: Kysely<Database>): Transact {
  return (work) => db.transaction().execute(work);
}
