/**
 * `users.tokens_valid_after`: access tokens issued before this instant are
 * refused. Set when the password changes or an admin signs the account out
 * everywhere, so those take effect at once instead of when the 15-minute
 * access tokens run out.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema.alterTable("users").addColumn("tokens_valid_after", "text").execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.alterTable("users").dropColumn("tokens_valid_after").execute();
}
