/**
 * The zero-access repository: every SQL statement on device keys, pinned
 * keys, the host credential, support grants, support commands, sealed
 * ClawChat keys and operator support keys. Routes and services call these;
 * pass the transaction of `app.audited` for changes.
 */
import type { Kysely, Transaction } from "kysely";
import type { UserPublicKey } from "../../core/zero-access/user-keys";
import { newId } from "../db/ids";
import type { CloudFirewallState, Database } from "../db/schema";
import { type DeviceKey, type OperatorSupportKey, type SupportCommandRow, type SupportGrantRow, zeroAccessDb } from "./tables";

type Db = Kysely<Database> | Transaction<Database>;

// ---------------------------------------------------------------------------
// Device keys

export async function insertDeviceKey(
  db: Db,
  values: { userId: string; name: string; key: UserPublicKey; fingerprint: string; at: string },
): Promise<DeviceKey> {
  const row: DeviceKey = {
    id: newId("dk"),
    user_id: values.userId,
    name: values.name,
    fingerprint: values.fingerprint,
    signing: values.key.signing,
    sealing: values.key.sealing,
    created_at: values.at,
    revoked_at: null,
  };
  await zeroAccessDb(db).insertInto("device_keys").values(row).execute();
  return row;
}

export function findDeviceKeyByFingerprint(db: Db, userId: string, fingerprint: string): Promise<DeviceKey | undefined> {
  return zeroAccessDb(db).selectFrom("device_keys").selectAll().where("user_id", "=", userId).where("fingerprint", "=", fingerprint).executeTakeFirst();
}

export async function countActiveDeviceKeys(db: Db, userId: string): Promise<number> {
  const row = await zeroAccessDb(db)
    .selectFrom("device_keys")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function listDeviceKeys(db: Db, userId: string): Promise<DeviceKey[]> {
  return zeroAccessDb(db).selectFrom("device_keys").selectAll().where("user_id", "=", userId).orderBy("created_at").orderBy("id").execute();
}

export function findDeviceKey(db: Db, userId: string, id: string): Promise<DeviceKey | undefined> {
  return zeroAccessDb(db).selectFrom("device_keys").selectAll().where("user_id", "=", userId).where("id", "=", id).executeTakeFirst();
}

export async function revokeDeviceKey(db: Db, id: string, at: string): Promise<void> {
  await zeroAccessDb(db).updateTable("device_keys").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
}

/** The user's active device keys, oldest first: what a new instance pins. */
export async function activeDeviceKeys(db: Db, userId: string): Promise<UserPublicKey[]> {
  const rows = await zeroAccessDb(db)
    .selectFrom("device_keys")
    .select(["signing", "sealing"])
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map((row) => ({ signing: row.signing, sealing: row.sealing }));
}

// ---------------------------------------------------------------------------
// Instances: pinned keys and the host credential

export interface ZeroAccessInstance {
  id: string;
  user_id: string;
  cloud: string;
  status: string;
  stack_name: string;
  pinned_keys: string | null;
  host_token_hash: string | null;
  /** When the host registered; null: not yet (whether it runs the support agent is then unknown). */
  registered_at: string | null;
  outputs: string | null;
}

const INSTANCE_COLUMNS = ["id", "user_id", "cloud", "status", "stack_name", "pinned_keys", "host_token_hash", "registered_at", "outputs"] as const;

export function findUserInstance(db: Db, userId: string, id: string): Promise<ZeroAccessInstance | undefined> {
  return zeroAccessDb(db)
    .selectFrom("instances")
    .select(INSTANCE_COLUMNS)
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .where("status", "!=", "destroyed")
    .executeTakeFirst();
}

export function findInstance(db: Db, id: string): Promise<ZeroAccessInstance | undefined> {
  return zeroAccessDb(db).selectFrom("instances").select(INSTANCE_COLUMNS).where("id", "=", id).executeTakeFirst();
}

export async function setPinnedKeys(db: Db, instanceId: string, keys: UserPublicKey[]): Promise<void> {
  await zeroAccessDb(db)
    .updateTable("instances")
    .set({ pinned_keys: keys.length > 0 ? JSON.stringify(keys) : null })
    .where("id", "=", instanceId)
    .execute();
}

/** The host credential's hash; null when the host registered without one (no support agent on it). */
export async function setHostTokenHash(db: Db, instanceId: string, hash: string | null): Promise<void> {
  await zeroAccessDb(db).updateTable("instances").set({ host_token_hash: hash }).where("id", "=", instanceId).execute();
}

// ---------------------------------------------------------------------------
// Support grants

/** A new grant; its cloud rule state defaults to `closed` (the route asks for `opening`). */
export type NewSupportGrant = Omit<SupportGrantRow, "cloud_firewall" | "cloud_firewall_error"> & Partial<Pick<SupportGrantRow, "cloud_firewall" | "cloud_firewall_error">>;

export async function insertGrant(db: Db, row: NewSupportGrant): Promise<void> {
  await zeroAccessDb(db).insertInto("support_grants").values({ cloud_firewall: "closed", cloud_firewall_error: null, ...row }).execute();
}

export function findGrantByNonce(db: Db, instanceId: string, nonce: string): Promise<Pick<SupportGrantRow, "id"> | undefined> {
  return zeroAccessDb(db).selectFrom("support_grants").select("id").where("instance_id", "=", instanceId).where("nonce", "=", nonce).executeTakeFirst();
}

export function findGrant(db: Db, instanceId: string, grantId: string): Promise<SupportGrantRow | undefined> {
  return zeroAccessDb(db).selectFrom("support_grants").selectAll().where("instance_id", "=", instanceId).where("id", "=", grantId).executeTakeFirst();
}

export function listGrants(db: Db, instanceId: string, limit: number): Promise<SupportGrantRow[]> {
  return zeroAccessDb(db).selectFrom("support_grants").selectAll().where("instance_id", "=", instanceId).orderBy("created_at", "desc").orderBy("id").limit(limit).execute();
}

export async function revokeGrant(db: Db, grantId: string, at: string): Promise<void> {
  await zeroAccessDb(db).updateTable("support_grants").set({ revoked_at: at }).where("id", "=", grantId).where("revoked_at", "is", null).execute();
  // Whatever its cloud rule was doing, it is to be removed now (a `closed` one stays closed).
  await zeroAccessDb(db).updateTable("support_grants").set({ cloud_firewall: "closing" }).where("id", "=", grantId).where("cloud_firewall", "!=", "closed").execute();
}

// ---------------------------------------------------------------------------
// Support grants' rules in the host's cloud firewall (api/support/cloud-firewall.ts)

/** States in which a grant's cloud rule may be open (an ended grant in one of them still needs a close). */
export const CLOUD_RULE_MAY_BE_OPEN: readonly CloudFirewallState[] = ["opening", "open", "closing", "failed"];

/** The instance's grants whose cloud rule is not known closed. */
export function grantsWithCloudRule(db: Db, instanceId: string): Promise<SupportGrantRow[]> {
  return zeroAccessDb(db)
    .selectFrom("support_grants")
    .selectAll()
    .where("instance_id", "=", instanceId)
    .where("cloud_firewall", "in", CLOUD_RULE_MAY_BE_OPEN)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

/** Moves a grant's cloud rule state, only from one of `from` (a revoke between read and write wins); true when it moved. */
export async function setCloudFirewall(
  db: Db,
  grantId: string,
  to: CloudFirewallState,
  from: readonly CloudFirewallState[],
  error: string | null = null,
): Promise<boolean> {
  const result = await zeroAccessDb(db)
    .updateTable("support_grants")
    .set({ cloud_firewall: to, cloud_firewall_error: error })
    .where("id", "=", grantId)
    .where("cloud_firewall", "in", from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Ended grants whose rule is (being) opened are to be closed: `closing`. */
export async function closeEndedCloudRules(db: Db, now: string): Promise<number> {
  const result = await zeroAccessDb(db)
    .updateTable("support_grants")
    .set({ cloud_firewall: "closing" })
    .where("not_after", "<=", now)
    .where("cloud_firewall", "in", ["opening", "open"])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Instances with a grant whose cloud rule is to be closed (revoked or ended, not known closed), or opened (live, `opening`). */
export async function instancesWithCloudRuleWork(db: Db, now: string): Promise<{ close: string[]; open: string[] }> {
  const rows = await zeroAccessDb(db)
    .selectFrom("support_grants")
    .select(["instance_id", "cloud_firewall", "not_after", "revoked_at"])
    .where("cloud_firewall", "in", CLOUD_RULE_MAY_BE_OPEN)
    .limit(5000)
    .execute();
  const close = new Set<string>();
  const open = new Set<string>();
  for (const row of rows) {
    if (row.revoked_at !== null || row.not_after <= now) close.add(row.instance_id);
    else if (row.cloud_firewall === "opening") open.add(row.instance_id);
  }
  return { close: [...close], open: [...open].filter((id) => !close.has(id)) };
}

/** Grants whose time has not ended: the host installs the unrevoked ones and removes the revoked ones. */
export function unexpiredGrants(db: Db, instanceId: string, now: string): Promise<SupportGrantRow[]> {
  return zeroAccessDb(db)
    .selectFrom("support_grants")
    .selectAll()
    .where("instance_id", "=", instanceId)
    .where("not_after", ">", now)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

/** Every active grant (not revoked, not ended), optionally of one instance, with the instance's outputs. */
export function activeGrants(db: Db, now: string, instanceId?: string): Promise<(SupportGrantRow & { outputs: string | null })[]> {
  let query = zeroAccessDb(db)
    .selectFrom("support_grants")
    .innerJoin("instances", "instances.id", "support_grants.instance_id")
    .selectAll("support_grants")
    .select("instances.outputs")
    .where("support_grants.revoked_at", "is", null)
    .where("support_grants.not_after", ">", now)
    .orderBy("support_grants.not_after")
    .limit(500);
  if (instanceId !== undefined) query = query.where("support_grants.instance_id", "=", instanceId);
  return query.execute();
}

// ---------------------------------------------------------------------------
// Support commands

/** Inserts one record; false when (instance, seq) was already stored (the host retried). */
export async function insertCommand(db: Db, row: SupportCommandRow): Promise<boolean> {
  const inserted = await zeroAccessDb(db)
    .insertInto("support_commands")
    .values(row)
    .onConflict((conflict) => conflict.columns(["instance_id", "seq"]).doNothing())
    .returning("seq")
    .executeTakeFirst();
  return inserted !== undefined;
}

export function listCommands(
  db: Db,
  instanceId: string,
  options: { limit: number; beforeSeq?: number },
): Promise<(SupportCommandRow & { operator_email: string | null })[]> {
  let query = zeroAccessDb(db)
    .selectFrom("support_commands")
    .leftJoin("users", "users.id", "support_commands.operator_user_id")
    .selectAll("support_commands")
    .select("users.email as operator_email")
    .where("support_commands.instance_id", "=", instanceId)
    .orderBy("support_commands.seq", "desc")
    .limit(options.limit);
  if (options.beforeSeq !== undefined) query = query.where("support_commands.seq", "<", options.beforeSeq);
  return query.execute();
}

/** The grants of this instance among `ids`, with their support key fingerprints (JSON). */
export async function grantsOf(db: Db, instanceId: string, ids: string[]): Promise<Map<string, string[]>> {
  if (ids.length === 0) return new Map();
  const rows = await zeroAccessDb(db)
    .selectFrom("support_grants")
    .select(["id", "support_key_fingerprints"])
    .where("instance_id", "=", instanceId)
    .where("id", "in", ids)
    .execute();
  return new Map(rows.map((row) => [row.id, JSON.parse(row.support_key_fingerprints) as string[]]));
}

// ---------------------------------------------------------------------------
// Sealed ClawChat keys

export async function storeClawchatKeys(db: Db, instanceId: string, box: string, at: string): Promise<void> {
  await zeroAccessDb(db)
    .insertInto("clawchat_keys")
    .values({ instance_id: instanceId, box, updated_at: at })
    .onConflict((conflict) => conflict.column("instance_id").doUpdateSet({ box, updated_at: at }))
    .execute();
}

export function findClawchatKeys(db: Db, instanceId: string): Promise<{ box: string; updated_at: string } | undefined> {
  return zeroAccessDb(db).selectFrom("clawchat_keys").select(["box", "updated_at"]).where("instance_id", "=", instanceId).executeTakeFirst();
}

// ---------------------------------------------------------------------------
// Operator support keys

export async function insertOperatorKey(db: Db, row: OperatorSupportKey): Promise<void> {
  await zeroAccessDb(db).insertInto("operator_support_keys").values(row).execute();
}

export function findOperatorKeyByFingerprint(db: Db, fingerprint: string): Promise<OperatorSupportKey | undefined> {
  return zeroAccessDb(db).selectFrom("operator_support_keys").selectAll().where("fingerprint", "=", fingerprint).executeTakeFirst();
}

export function findOperatorKey(db: Db, id: string): Promise<OperatorSupportKey | undefined> {
  return zeroAccessDb(db).selectFrom("operator_support_keys").selectAll().where("id", "=", id).executeTakeFirst();
}

export type OperatorKeyWithEmail = OperatorSupportKey & { email: string | null };

export function listOperatorKeys(db: Db, options: { activeOnly: boolean }): Promise<OperatorKeyWithEmail[]> {
  let query = zeroAccessDb(db)
    .selectFrom("operator_support_keys")
    .leftJoin("users", "users.id", "operator_support_keys.user_id")
    .selectAll("operator_support_keys")
    .select("users.email as email")
    .orderBy("operator_support_keys.created_at")
    .limit(500);
  if (options.activeOnly) query = query.where("operator_support_keys.revoked_at", "is", null);
  return query.execute();
}

export function findOperatorKeyWithEmail(db: Db, id: string): Promise<OperatorKeyWithEmail | undefined> {
  return zeroAccessDb(db)
    .selectFrom("operator_support_keys")
    .leftJoin("users", "users.id", "operator_support_keys.user_id")
    .selectAll("operator_support_keys")
    .select("users.email as email")
    .where("operator_support_keys.id", "=", id)
    .executeTakeFirst();
}

export async function revokeOperatorKey(db: Db, id: string, at: string): Promise<void> {
  await zeroAccessDb(db).updateTable("operator_support_keys").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
}
