/**
 * Plans and their limits. Each account is on one plan (`users.plan_id`, the
 * `free` plan at sign-up); a plan caps the instances an account may hold at
 * once (every instance not yet `destroyed` counts, failed ones too: they may
 * still own cloud resources). Operators edit plans with the admin API or
 * `admin-cli plan ...`.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database, PlansTable } from "../db/schema";
import { HttpError } from "../http/errors";

type Db = Kysely<Database> | Transaction<Database>;

/** Plan ids: lower-case letters, digits and dashes, 1-40 characters. */
export const PLAN_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** The largest `max_instances` a plan may have. */
export const MAX_PLAN_INSTANCES = 10_000;

export function listPlans(db: Db): Promise<PlansTable[]> {
  return db.selectFrom("plans").selectAll().orderBy("id").execute();
}

/** How many accounts are on the plan. */
export async function countAccountsOnPlan(db: Db, planId: string): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<string | number>().as("n")).where("plan_id", "=", planId).executeTakeFirstOrThrow();
  return Number(row.n);
}

export function findPlan(db: Db, id: string): Promise<PlansTable | undefined> {
  return db.selectFrom("plans").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Creates the plan or changes its name and limit; returns it. */
export async function upsertPlan(db: Db, plan: { id: string; name: string; maxInstances: number }): Promise<PlansTable> {
  if (!PLAN_ID.test(plan.id)) throw new HttpError(400, "`id`: a plan id is 1-40 lower-case letters, digits or dashes, starting with a letter or digit", "params.id");
  if (!Number.isInteger(plan.maxInstances) || plan.maxInstances < 0 || plan.maxInstances > MAX_PLAN_INSTANCES) {
    throw new HttpError(400, `\`maxInstances\`: a whole number from 0 to ${MAX_PLAN_INSTANCES}`, "body.maxInstances");
  }
  await db
    .insertInto("plans")
    .values({ id: plan.id, name: plan.name, max_instances: plan.maxInstances, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column("id").doUpdateSet({ name: plan.name, max_instances: plan.maxInstances }))
    .execute();
  return (await findPlan(db, plan.id))!;
}

/** Puts an account on an existing plan. */
export async function assignPlan(db: Db, userId: string, planId: string): Promise<void> {
  if (!(await findPlan(db, planId))) {
    const known = (await listPlans(db)).map((plan) => plan.id).join(", ");
    throw new HttpError(400, `\`plan\`: no plan \`${planId}\`; plans: ${known}`, "body.plan");
  }
  await db.updateTable("users").set({ plan_id: planId, updated_at: new Date().toISOString() }).where("id", "=", userId).execute();
}

/**
 * Inside the transaction that inserts a new instance: refuses it when the
 * account already holds its plan's maximum. On PostgreSQL the account's row
 * is locked first, so two concurrent requests cannot both take the last slot;
 * SQLite runs one write transaction at a time.
 */
export async function assertInstanceAllowed(trx: Transaction<Database>, userId: string, engine: "sqlite" | "postgres"): Promise<void> {
  let query = trx
    .selectFrom("users")
    .innerJoin("plans", "plans.id", "users.plan_id")
    .select(["plans.id as plan", "plans.max_instances as max"])
    .where("users.id", "=", userId);
  if (engine === "postgres") query = query.forUpdate("users");
  const row = await query.executeTakeFirst();
  if (!row) throw new HttpError(401, "the account no longer exists");
  const held = await trx
    .selectFrom("instances")
    .select((eb) => eb.fn.countAll<string | number>().as("n"))
    .where("user_id", "=", userId)
    .where("status", "!=", "destroyed")
    .executeTakeFirstOrThrow();
  const max = Number(row.max);
  if (Number(held.n) >= max) {
    throw new HttpError(
      403,
      `\`plan\`: the \`${row.plan}\` plan allows ${max} instance(s) at once and this account holds ${Number(held.n)}; destroy one (DELETE /v1/instances/{id}) or ask an operator for another plan`,
      "plan",
    );
  }
}
