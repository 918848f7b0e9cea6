/**
 * The vault plugin: loads the master keyring (env, file, or a generated file
 * with mode 600) and decorates `app.vault`.
 */
import { existsSync } from "node:fs";
import { KMSClient } from "@aws-sdk/client-kms";
import fp from "fastify-plugin";
import { AuditLog } from "../audit/audit-log";
import type { ApiConfig } from "../config";
import { type KeyWrapper, LocalKeyWrapper } from "./key-wrapper";
import { loadKeyringFile, parseInlineKeyring } from "./keyring";
import { CompositeKeyWrapper, GcpKmsKeyWrapper, type GcpKmsClient, KmsKeyWrapper, parseGcpKmsKeys, parseKmsKeys } from "./kms-key-wrapper";
import { Vault } from "./vault";

declare module "fastify" {
  interface FastifyInstance {
    vault: Vault;
  }
}

/**
 * The vault's key wrapper: the local master keyring, or with `CLAWSTACK_KMS_KEYS`
 * (AWS) / `CLAWSTACK_GCP_KMS_KEYS` (GCP) a KMS for new data keys, with the local
 * keyring (when one is configured or its file exists) still unwrapping rows
 * written before the switch. `clients` is for tests.
 */
export function keyWrapperFor(
  config: Pick<ApiConfig, "masterKeys" | "masterKeyFile"> & Partial<Pick<ApiConfig, "kmsKeys" | "kmsRegion" | "gcpKmsKeys">>,
  clients: { gcpKms?: GcpKmsClient } = {},
): KeyWrapper {
  if (config.kmsKeys === undefined && config.gcpKmsKeys === undefined) {
    const keyring = config.masterKeys !== undefined ? parseInlineKeyring(config.masterKeys) : loadKeyringFile(config.masterKeyFile, { create: true });
    return new LocalKeyWrapper(keyring);
  }
  const primary =
    config.kmsKeys !== undefined
      ? new KmsKeyWrapper(new KMSClient(config.kmsRegion ? { region: config.kmsRegion } : {}), parseKmsKeys(config.kmsKeys))
      : new GcpKmsKeyWrapper(clients.gcpKms ?? defaultGcpKmsClient(), parseGcpKmsKeys(config.gcpKmsKeys!));
  const local =
    config.masterKeys !== undefined
      ? new LocalKeyWrapper(parseInlineKeyring(config.masterKeys))
      : existsSync(config.masterKeyFile)
        ? new LocalKeyWrapper(loadKeyringFile(config.masterKeyFile, { create: false }))
        : undefined;
  return new CompositeKeyWrapper(primary, local ? [local] : []);
}

/** Cloud KMS with Application Default Credentials; `@google-cloud/kms` (gRPC) is loaded only here. */
function defaultGcpKmsClient(): GcpKmsClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: only GCP KMS wrapping needs it
  const { KeyManagementServiceClient } = require("@google-cloud/kms") as typeof import("@google-cloud/kms");
  const client: GcpKmsClient = new KeyManagementServiceClient();
  return client;
}

export const vaultPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    app.decorate("vault", new Vault(app.db, keyWrapperFor(config), app.passwords, new AuditLog(app.db)));
  },
  { name: "clawstack-vault", dependencies: ["clawstack-db", "clawstack-auth"] },
);
