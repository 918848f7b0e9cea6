/**
 * The vault plugin: loads the master keyring (env, file, or a generated file
 * with mode 600) and decorates `app.vault`.
 */
import fp from "fastify-plugin";
import { AuditLog } from "../audit/audit-log";
import type { ApiConfig } from "../config";
import { KeyHeartbeat } from "./key-heartbeat";
import type { KeyWrapper } from "./key-wrapper";
import { type KeySourceConfig, type KmsClients, readKeySources, wrapperFrom } from "./key-sources";
import { ReloadingKeyWrapper } from "./reloading-key-wrapper";
import { Vault } from "./vault";

declare module "fastify" {
  interface FastifyInstance {
    vault: Vault;
    /** This process's key heartbeat: `app.keys.reloadNow()` re-reads every key source (SIGHUP). */
    keys: KeyHeartbeat;
  }
}

/**
 * The vault's key wrapper as configured now (the operator CLI's view): the
 * local master keyring, or with `CLAWSTACK_KMS_KEYS` (AWS) /
 * `CLAWSTACK_GCP_KMS_KEYS` (GCP) a KMS for new data keys, with the local
 * keyring (when one is configured or its file exists) still unwrapping rows
 * written before the switch. `clients` is for tests.
 */
export function keyWrapperFor(config: KeySourceConfig, clients: KmsClients = {}): KeyWrapper {
  return wrapperFrom(readKeySources(config), clients, config);
}

export const vaultPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    const wrapper = new ReloadingKeyWrapper(config);
    app.decorate("vault", new Vault(app.db, wrapper, app.passwords, new AuditLog(app.db)));
    const heartbeat = new KeyHeartbeat({
      db: app.db,
      kind: "api",
      wrapper,
      jwt: app.accessTokens.keys,
      reloadMs: config.keyReloadMs,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      logger: app.log,
    });
    app.decorate("keys", heartbeat);
    // Before the server listens: this process's row exists and its write versions are agreed.
    app.addHook("onReady", async () => heartbeat.start());
    // After in-flight requests (LIFO: before the database closes).
    app.addHook("onClose", async () => heartbeat.stop());
  },
  { name: "clawstack-vault", dependencies: ["clawstack-db", "clawstack-auth"] },
);
