/**
 * The production `CredentialProvider`: credentials come from the vault,
 * decrypted in memory for one job and handed to the engine as workspace
 * environment. AWS credentials are never long-lived keys: the worker assumes
 * the customer's role (`assumeCustomerRole`, one-hour STS session) and passes
 * the session's three values.
 */
import type { Kysely } from "kysely";
import { assumeCustomerRole, type CustomerCredentials } from "../../runtime/aws-sts";
import type { Cloud, Credential, Database } from "../db/schema";
import type { Vault } from "../vault/vault";
import { type CredentialProvider, CredentialChoiceError, type JobCredentials, MissingCredentialError } from "./credentials";

export type AssumeRole = (params: { roleArn: string; externalId: string; userId: string }) => Promise<CustomerCredentials>;

export class VaultCredentialProvider implements CredentialProvider {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly vault: Pick<Vault, "decrypt">,
    private readonly assumeRole: AssumeRole = (params) => assumeCustomerRole(params),
  ) {}

  async choose(userId: string, cloud: Cloud, credentialId?: string): Promise<string> {
    if (credentialId !== undefined) {
      const row = await this.db
        .selectFrom("credentials")
        .selectAll()
        .where("id", "=", credentialId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      if (!row) throw new CredentialChoiceError(`\`credentialId\`: you have no credential \`${credentialId}\``);
      if (row.kind !== cloud) {
        throw new CredentialChoiceError(`\`credentialId\`: \`${credentialId}\` is a ${row.kind} credential; this instance is on ${cloud}`);
      }
      if (row.passphrase_salt !== null) {
        throw new CredentialChoiceError(
          `\`credentialId\`: \`${credentialId}\` is in passphrase mode, which a worker cannot decrypt; add a credential without a passphrase for provisioning`,
        );
      }
      return row.id;
    }
    const row = await this.usable(userId, cloud);
    if (!row) throw new MissingCredentialError(cloud);
    return row.id;
  }

  async forJob(request: { userId: string; cloud: Cloud; region: string; credentialId: string | null }): Promise<JobCredentials> {
    // The chosen credential may have been deleted since: fall back to the newest usable one.
    const id = (request.credentialId && (await this.stillUsable(request.userId, request.cloud, request.credentialId)))
      ? request.credentialId
      : (await this.usable(request.userId, request.cloud))?.id;
    if (!id) throw new MissingCredentialError(request.cloud);
    const secret = await this.vault.decrypt(request.userId, id);
    switch (secret.kind) {
      case "digitalocean":
        return { env: { DIGITALOCEAN_TOKEN: secret.token }, secrets: [secret.token] };
      case "aws": {
        const session = await this.assumeRole({ roleArn: secret.roleArn, externalId: secret.externalId, userId: request.userId });
        const env = {
          AWS_ACCESS_KEY_ID: session.accessKeyId,
          AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
          AWS_SESSION_TOKEN: session.sessionToken,
          AWS_REGION: request.region,
        };
        return { env, secrets: [session.accessKeyId, session.secretAccessKey, session.sessionToken] };
      }
      case "gcp": {
        const json = JSON.stringify(secret.config);
        return { env: { GOOGLE_CREDENTIALS: json, GOOGLE_REGION: request.region }, secrets: [json] };
      }
      default: {
        const unreachable: never = secret;
        throw new Error(`unknown credential kind ${String(unreachable)}`);
      }
    }
  }

  private async stillUsable(userId: string, cloud: Cloud, credentialId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("credentials")
      .select(["id"])
      .where("id", "=", credentialId)
      .where("user_id", "=", userId)
      .where("kind", "=", cloud)
      .where("passphrase_salt", "is", null)
      .executeTakeFirst();
    return row !== undefined;
  }

  private usable(userId: string, cloud: Cloud): Promise<Pick<Credential, "id"> | undefined> {
    return this.db
      .selectFrom("credentials")
      .select(["id"])
      .where("user_id", "=", userId)
      .where("kind", "=", cloud)
      .where("passphrase_salt", "is", null)
      .orderBy("created_at", "desc")
      .executeTakeFirst();
  }
}
