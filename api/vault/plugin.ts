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
import { CompositeKeyWrapper, KmsKeyWrapper, parseKmsKeys } from "./kms-key-wrapper";
import { Vault } from "./vault";

declare module "fastify" {
  interface FastifyInstance {
    vault: Vault;
  }
}

/**
 * The vault's key wrapper: the local master keyring, or with `CLAWSTACK_KMS_KEYS`
 * AWS KMS for new data keys, with the local keyring (when one is configured or
 * its file exists) still unwrapping rows written before the switch.
 */
export function keyWrapperFor(config: Pick<ApiConfig, "masterKeys" | "masterKeyFile"> & Partial<Pick<ApiConfig, "kmsKeys" | "kmsRegion">>): KeyWrapper {
  if (config.kmsKeys === undefined) {
    const keyring = config.masterKeys !== undefined ? parseInlineKeyring(config.masterKeys) : loadKeyringFile(config.masterKeyFile, { create: true });
    return new LocalKeyWrapper(keyring);
  }
  const kms = new KmsKeyWrapper(new KMSClient(config.kmsRegion ? { region: config.kmsRegion } : {}), parseKmsKeys(config.kmsKeys));
  const local =
    config.masterKeys !== undefined
      ? new LocalKeyWrapper(parseInlineKeyring(config.masterKeys))
      : existsSync(config.masterKeyFile)
        ? new LocalKeyWrapper(loadKeyringFile(config.masterKeyFile, { create: false }))
        : undefined;
  return new CompositeKeyWrapper(kms, local ? [local] : []);
}

export const vaultPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    app.decorate("vault", new Vault(app.db, keyWrapperFor(config), app.passwords, new AuditLog(app.db)));
  },
  { name: "clawstack-vault", dependencies: ["clawstack-db", "clawstack-auth"] },
);
