/**
 * The instance routes' shared lookup: the caller's own instance, or 404 naming the id (another user's instance is
 * answered exactly as a missing one).
 */
import type { Kysely } from "kysely";
import type { Database, Instance } from "../db/schema";
import { notFound } from "../http/errors";
import { findUserInstance } from "../jobs/instances-repo";

export async function ownInstance(db: Kysely<Database>, userId: string, id: string): Promise<Instance> {
  const instance = await findUserInstance(db, userId, id);
  if (!instance) throw notFound(`instance \`${id}\``);
  return instance;
}
