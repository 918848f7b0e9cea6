/**
 * The production `CredentialProvider`: credentials come from the vault,
 * decrypted in memory for one job and handed to the engine as workspace
 * environment. AWS credentials are never long-lived keys: the worker assumes
 * the customer's role (`assumeCustomerRole`, one-hour STS session) and passes
 * the session's three values.
 */
import type { Kysely } from "kysely";
import { assumeCustomerRole, type CustomerCredentials } from "../../runtime/aws-sts";
import type { Cloud, Database } from "../db/schema";
import { credentialUnusable, findCredential, findUsableCredential } from "../vault/credentials-repo";
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
      const row = await findCredential(this.db, userId, credentialId);
      if (!row) throw new CredentialChoiceError(`\`credentialId\`: you have no credential \`${credentialId}\``);
      switch (credentialUnusable(row, cloud)) {
        case "other_cloud":
          throw new CredentialChoiceError(`\`credentialId\`: \`${credentialId}\` is a ${row.kind} credential; this instance is on ${cloud}`);
        case "passphrase":
          throw new CredentialChoiceError(
            `\`credentialId\`: \`${credentialId}\` is in passphrase mode, which a worker cannot decrypt; add a credential without a passphrase for provisioning`,
          );
        case undefined:
          return row.id;
      }
    }
    const row = await findUsableCredential(this.db, userId, cloud);
    if (!row) throw new MissingCredentialError(cloud);
    return row.id;
  }

  async forJob(request: { userId: string; cloud: Cloud; region: string; credentialId: string | null }): Promise<JobCredentials> {
    // The chosen credential may have been deleted since: fall back to the newest usable one.
    const chosen = request.credentialId ? await findUsableCredential(this.db, request.userId, request.cloud, request.credentialId) : undefined;
    const id = (chosen ?? (await findUsableCredential(this.db, request.userId, request.cloud)))?.id;
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
}
