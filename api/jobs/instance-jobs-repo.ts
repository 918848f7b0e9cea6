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
