/**
 * The vault plugin: loads the master keyring (env, file, or a generated file
 * with mode 600) and decorates `app.vault`.
 */
import fp from "fastify-plugin";
import { AuditLog } from "../audit/audit-log";
import type { ApiConfig } from "../config";
import { type KeyWrapper, LocalKeyWrapper } from "./key-wrapper";
import { loadKeyringFile, parseInlineKeyring } from "./keyring";
import { Vault } from "./vault";

declare module "fastify" {
  interface FastifyInstance {
    vault: Vault;
  }
}

export function keyWrapperFor(config: Pick<ApiConfig, "masterKeys" | "masterKeyFile">): KeyWrapper {
  const keyring =
    config.masterKeys !== undefined
      ? parseInlineKeyring(config.masterKeys)
      : loadKeyringFile(config.masterKeyFile, { create: true });
  return new LocalKeyWrapper(keyring);
}

export const vaultPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    app.decorate("vault", new Vault(app.db, keyWrapperFor(config), app.passwords, new AuditLog(app.db)));
  },
  { name: "clawstack-vault", dependencies: ["clawstack-db", "clawstack-auth"] },
);
