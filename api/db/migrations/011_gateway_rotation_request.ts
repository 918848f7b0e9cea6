/**
 * `instances.gateway_rotation_requested_at`: a gateway token rotation the
 * user or an operator asked the host itself to carry out (issue 20 item 4).
 * The host's support agent sees it in its poll, makes a new token, restarts
 * the gateway and sends the token with its host credential; the column is
 * cleared when the API has swapped its sealed copy.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema.alterTable("instances").addColumn("gateway_rotation_requested_at", "text").execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.alterTable("instances").dropColumn("gateway_rotation_requested_at").execute();
}
