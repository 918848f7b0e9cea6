/** SQL for the secrets registered hosts handed over (`instance_secrets`: sealed gateway tokens). */
import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, InstanceSecretsTable } from "../db/schema";

type Db = Kysely<Database> | Transaction<Database>;

export type InstanceSecret = Selectable<InstanceSecretsTable>;

/** Stores `row`, deleting the instance's earlier secret of the same kind (one per instance and kind). */
export async function replaceInstanceSecret(db: Db, row: InstanceSecret): Promise<void> {
  await db.deleteFrom("instance_secrets").where("instance_id", "=", row.instance_id).where("kind", "=", row.kind).execute();
  await db.insertInto("instance_secrets").values(row).execute();
}

export function findInstanceSecret(db: Db, instanceId: string, kind: InstanceSecret["kind"]): Promise<InstanceSecret | undefined> {
  return db.selectFrom("instance_secrets").selectAll().where("instance_id", "=", instanceId).where("kind", "=", kind).executeTakeFirst();
}
