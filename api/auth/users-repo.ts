/** SQL for users. */
import type { Kysely } from "kysely";
import { newId, nowIso } from "../db/ids";
import type { Database, Role, User } from "../db/schema";

export type Db = Kysely<Database>;

export function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
}

export function findUserById(db: Db, id: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function insertUser(
  db: Db,
  user: { email: string; passwordHash: string; role: Role; keySalt: string },
): Promise<User> {
  const now = nowIso();
  const row = {
    id: newId("usr"),
    email: user.email,
    password_hash: user.passwordHash,
    role: user.role,
    plan_id: "free",
    created_at: now,
    updated_at: now,
    tokens_valid_after: null,
  };
  await db.insertInto("users").values(row).execute();
  await db.insertInto("user_keys").values({ user_id: row.id, key_salt: user.keySalt, created_at: now }).execute();
  return row;
}

export async function listUsers(db: Db, limit: number, after?: string): Promise<User[]> {
  let query = db.selectFrom("users").selectAll().orderBy("id").limit(limit);
  if (after !== undefined) query = query.where("id", ">", after);
  return query.execute();
}

export async function setRole(db: Db, id: string, role: Role): Promise<boolean> {
  const result = await db
    .updateTable("users")
    .set({ role, updated_at: nowIso() })
    .where("id", "=", id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Replaces the password hash (argon2id, encoded). */
export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db.updateTable("users").set({ password_hash: passwordHash, updated_at: new Date().toISOString() }).where("id", "=", id).execute();
}

export async function countAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string | number>().as("n"))
    .where("role", "=", "admin")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Deletes the user and, by cascade, their key salt (crypto-erasure of every
 * wrapped data key), credentials, sessions and API keys.
 */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
