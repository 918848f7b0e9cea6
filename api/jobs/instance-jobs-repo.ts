/** SQL for one instance's jobs, newest first, in pages (index `jobs_instance` on `(instance_id, created_at)`). */
import type { Kysely, Transaction } from "kysely";
import type { Database, Job } from "../db/schema";

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Up to `limit` jobs of the instance, newest first (`created_at`, then `id`, descending). With `before`
 * (a job of the same instance), only the jobs that come after it in that order: the next page.
 */
export function listInstanceJobs(db: Db, instanceId: string, page: { limit: number; before?: Pick<Job, "id" | "created_at"> }): Promise<Job[]> {
  let select = db
    .selectFrom("jobs")
    .selectAll()
    .where("instance_id", "=", instanceId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(page.limit);
  const before = page.before;
  if (before) {
    select = select.where((eb) =>
      eb.or([eb("created_at", "<", before.created_at), eb.and([eb("created_at", "=", before.created_at), eb("id", "<", before.id)])]),
    );
  }
  return select.execute();
}

/**
 * The instance's newest job of `operation` and, when that one did not succeed, its newest that did
 * (the `snapshots` listing: the last list served beside the state of the latest attempt).
 */
export async function latestInstanceJobs(db: Db, instanceId: string, operation: Job["operation"]): Promise<{ latest?: Job; succeeded?: Job }> {
  const newest = (state?: Job["state"]) => {
    let select = db.selectFrom("jobs").selectAll().where("instance_id", "=", instanceId).where("operation", "=", operation);
    if (state) select = select.where("state", "=", state);
    return select.orderBy("created_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
  };
  const latest = await newest();
  if (!latest || latest.state === "succeeded") return { ...(latest ? { latest, succeeded: latest } : {}) };
  const succeeded = await newest("succeeded");
  return { latest, ...(succeeded ? { succeeded } : {}) };
}
