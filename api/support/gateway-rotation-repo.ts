/**
 * Gateway token rotation carried out by the host (issue 20 item 4): the
 * pending request on the instance row (migration 011). The swap itself goes
 * through the same functions as registration (api/registration/gateway-tokens.ts,
 * api/jobs/instances-repo.ts).
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/schema";
import { zeroAccessDb } from "./tables";

type Db = Kysely<Database> | Transaction<Database>;

/** Asks the host to rotate; a request already pending keeps its first time. */
export async function requestHostRotation(db: Db, instanceId: string, at: string): Promise<string> {
  await zeroAccessDb(db)
    .updateTable("instances")
    .set({ gateway_rotation_requested_at: at })
    .where("id", "=", instanceId)
    .where("gateway_rotation_requested_at", "is", null)
    .execute();
  return (await pendingHostRotation(db, instanceId)) ?? at;
}

export async function pendingHostRotation(db: Db, instanceId: string): Promise<string | undefined> {
  const row = await zeroAccessDb(db)
    .selectFrom("instances")
    .select("gateway_rotation_requested_at")
    .where("id", "=", instanceId)
    .executeTakeFirst();
  return row?.gateway_rotation_requested_at ?? undefined;
}

export async function clearHostRotation(db: Db, instanceId: string): Promise<void> {
  await zeroAccessDb(db).updateTable("instances").set({ gateway_rotation_requested_at: null }).where("id", "=", instanceId).execute();
}
