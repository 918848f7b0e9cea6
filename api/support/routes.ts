/**
 * Zero access over HTTP (docs/zero-access.md), four route groups, each
 * authenticated once for all its routes:
 *
 *   owner (a signed-in user, never an agent key)
 *     POST   /v1/me/device-keys                           register a device key's public halves
 *     GET    /v1/me/device-keys                           your device keys
 *     DELETE /v1/me/device-keys/:id                       revoke one (new instances stop pinning it)
 *     POST   /v1/instances/:id/support-grants             a grant signed by one of the instance's pinned keys
 *     DELETE /v1/instances/:id/support-grants/:grantId    revoke it (the host removes access within 60 s)
 *   reader (user, or agent key with `instances:read`)
 *     GET    /v1/instances/:id/pinned-keys                the device keys the host trusts
 *     GET    /v1/instances/:id/support-grants             grants with their status
 *     GET    /v1/instances/:id/support-commands           what support ran (command lines, exit, byte counts)
 *     GET    /v1/instances/:id/clawchat-keys              the sealed ClawChat keys (opened on your device)
 *     GET    /v1/support-keys                             the provider's support SSH keys, to put in a grant
 *   operator (admin)
 *     GET    /v1/admin/support-grants                     active grants (the CLI refuses without one)
 *     POST   /v1/admin/support-keys                       register your support SSH key (fingerprint -> operator)
 *     GET    /v1/admin/support-keys
 *     DELETE /v1/admin/support-keys/:id
 *   public (no authentication: hosts fetch it at first boot, before they hold a credential)
 *     GET    /v1/support/agent.js                         the support agent this version builds (api/support/agent-bundle.ts)
 *   host (Bearer cshost_..., its own instance only, rate-limited)
 *     GET    /v1/host/instances/:id/support-grants        unexpired grants (statement + signature) and revocations
 *     POST   /v1/host/instances/:id/support-commands      the wrapper's records, idempotent on seq; each audited
 *     PUT    /v1/host/instances/:id/clawchat-keys         the sealed box, sealed to exactly the pinned keys
 *
 * The host group authenticates after schema validation (preHandler): a
 * malformed request is refused with the field it breaks before the token is
 * looked up; rate limits count before either.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { checkSealedBox, type SealedBox, SealedBoxError } from "../../core/zero-access/sealed-box";
import { GrantError, verifyGrant } from "../../core/zero-access/support-grant";
import { parseUserPublicKey, UserKeyError } from "../../core/zero-access/user-keys";
import type { Principal } from "../auth/principal";
import { isUniqueViolation, newId, nowIso } from "../db/ids";
import { conflict, HttpError, notFound, unauthorized } from "../http/errors";
import { bearerSecurity, errorResponses, resourceId } from "../http/schemas";
import { getInstance as registrationOf, markInstanceRegistered } from "../jobs/instances-repo";
import { storeGatewayToken } from "../registration/gateway-tokens";
import { agentBundleRoutes } from "./agent-bundle";
import { agentGrantRefusal, supportAgentState } from "./agent-presence";
import { activeGatewayAdminGrants, gatewayAdminRoutes } from "./gateway-admin";
import { grantRefusal, grantStatus, ownInstance, principalOf } from "./route-helpers";
import { enqueueCloudFirewallJob } from "./cloud-firewall";
import { clearHostRotation, pendingHostRotation } from "./gateway-rotation-repo";
import { type HostPrincipal, authenticateHost } from "./host-credential";
import { MAX_PINNED_KEYS, pinnedFingerprints, pinnedKeysOf } from "./pinning";
import * as repo from "./repo";
import {
  adminGrantView,
  clawchatKeysBody,
  clawchatKeysView,
  commandsBody,
  commandView,
  createDeviceKeyBody,
  deviceKeyView,
  grantParams,
  grantView,
  hostGatewayTokenBody,
  hostGrantsView,
  instanceParams,
  operatorKeyBody,
  operatorKeyView,
  pinnedKeysView,
  publishedSupportKeyView,
  signedGrantBody,
  zeroAccessId,
} from "./schemas";
import { parseSupportKey, SshKeyError } from "./ssh-keys";
import type { DeviceKey, SupportGrantRow } from "./tables";

/** Host calls a minute per address and route: a host polls every 30 s and uploads now and then. */
export const HOST_ROUTE_RATE_LIMIT = 60;
/** A sealed box of the largest plaintext is about 90 KB of JSON. */
const CLAWCHAT_BODY_LIMIT = 160 * 1024;

function deviceKeyViewOf(row: DeviceKey): z.infer<typeof deviceKeyView> {
  return { id: row.id, name: row.name, fingerprint: row.fingerprint, createdAt: row.created_at, revokedAt: row.revoked_at };
}

function grantViewOf(row: SupportGrantRow, now: number): z.infer<typeof grantView> {
  return {
    id: row.id,
    instanceId: row.instance_id,
    status: grantStatus(row, now),
    notBefore: row.not_before,
    notAfter: row.not_after,
    reason: row.reason,
    sources: JSON.parse(row.sources) as string[],
    supportKeyFingerprints: JSON.parse(row.support_key_fingerprints) as string[],
    signer: row.signer,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    cloudFirewall: row.cloud_firewall,
    cloudFirewallError: row.cloud_firewall_error,
  };
}

/** Device keys, granting and revoking: the account holder only (agent keys cannot grant access to a host). */
const ownerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook("onRequest", app.authenticate);
  app.addHook("onRequest", app.requireUser);

  /** Enqueues the grant's cloud firewall job; a busy stack leaves it to the sweep (the grant says `opening`/`closing`). */
  const openInCloudFirewall = async (instance: repo.ZeroAccessInstance, operation: "support-open" | "support-close", requestId: string) => {
    try {
      const job = await enqueueCloudFirewallJob(app.db, instance, operation, { log: app.audit, requestId });
      if (job) app.jobs.wake();
    } catch (error) {
      // The grant itself is recorded; the sweep enqueues the job on its next pass.
      app.log.warn({ instanceId: instance.id, operation, err: error instanceof Error ? error.message : String(error) }, "enqueueing the grant's cloud firewall job failed; the sweep retries");
    }
  };

  app.post(
    "/v1/me/device-keys",
    {
      config: { audit: "device_key.create" },
      schema: {
        tags: ["zero-access"],
        summary: "Register a device key's public halves (the private halves never leave the device)",
        security: bearerSecurity,
        body: createDeviceKeyBody,
        response: { 201: deviceKeyView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      let parsed: Awaited<ReturnType<typeof parseUserPublicKey>>;
      try {
        parsed = await parseUserPublicKey("key", request.body.key);
      } catch (error) {
        if (error instanceof UserKeyError) throw new HttpError(400, error.message, `body.${error.field}`);
        throw error;
      }
      const row = await app.audited(request, 201, async (trx) => {
        if (await repo.findDeviceKeyByFingerprint(trx, userId, parsed.fingerprint)) {
          throw conflict(`\`key\`: this device key (${parsed.fingerprint}) is already registered; revoked keys cannot be registered again`, "body.key");
        }
        if ((await repo.countActiveDeviceKeys(trx, userId)) >= MAX_PINNED_KEYS) {
          throw conflict(`you hold ${MAX_PINNED_KEYS} active device keys, the most a host pins: revoke one first`, "body.key");
        }
        try {
          const created = await repo.insertDeviceKey(trx, { userId, name: request.body.name, key: parsed.key, fingerprint: parsed.fingerprint, at: nowIso() });
          request.auditTarget = created.id;
          return created;
        } catch (error) {
          if (isUniqueViolation(error)) throw conflict(`\`key\`: this device key (${parsed.fingerprint}) is already registered`, "body.key");
          throw error;
        }
      });
      return reply.code(201).send(deviceKeyViewOf(row));
    },
  );

  app.get(
    "/v1/me/device-keys",
    {
      schema: {
        tags: ["zero-access"],
        summary: "Your device keys with their fingerprints (revoked ones too)",
        security: bearerSecurity,
        response: { 200: z.object({ items: z.array(deviceKeyView) }), ...errorResponses },
      },
    },
    async (request) => ({ items: (await repo.listDeviceKeys(app.db, principalOf(request).userId)).map(deviceKeyViewOf) }),
  );

  app.delete(
    "/v1/me/device-keys/:id",
    {
      config: { audit: "device_key.revoke" },
      schema: {
        tags: ["zero-access"],
        summary: "Revoke a device key: new instances stop pinning it (hosts created before keep it until re-created)",
        security: bearerSecurity,
        params: z.strictObject({ id: zeroAccessId("dk") }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const { id } = request.params;
      request.auditTarget = id;
      await app.audited(request, 204, async (trx) => {
        if (!(await repo.findDeviceKey(trx, userId, id))) throw notFound(`device key \`${id}\``);
        await repo.revokeDeviceKey(trx, id, nowIso());
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/instances/:id/support-grants",
    {
      config: { audit: "support_grant.create" },
      schema: {
        tags: ["zero-access"],
        summary: "Grant support access: a statement signed by one of the instance's pinned device keys (verified here and again by the host)",
        security: bearerSecurity,
        params: instanceParams,
        body: signedGrantBody,
        response: { 201: grantView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const instance = await ownInstance(app.db, userId, request.params.id);
      request.auditTarget = instance.id;
      // A grant the host could never receive is refused rather than accepted and ignored (api/support/agent-presence.ts).
      const noAgent = agentGrantRefusal(instance);
      if (noAgent !== undefined) throw conflict(noAgent, "params.id");
      const pinnedKeys = pinnedKeysOf(instance);
      if (pinnedKeys.length === 0) {
        throw conflict(
          "`id`: this instance pins no device key (it was created before you registered one), so it accepts no grant; register a device key and re-create the instance",
          "params.id",
        );
      }
      let grant: Awaited<ReturnType<typeof verifyGrant>>;
      try {
        grant = await verifyGrant(request.body, { pinnedKeys, instanceId: instance.id, now: new Date() });
      } catch (error) {
        if (error instanceof GrantError) throw grantRefusal(error);
        throw error;
      }
      // The statement's shape check knows key lines only by their text; the blob must be a key of its type too.
      const supportKeyFingerprints = grant.supportKeys.map((line, i) => {
        try {
          return parseSupportKey(line).fingerprint;
        } catch (error) {
          if (error instanceof SshKeyError) throw new HttpError(400, `grant refused (malformed): \`supportKeys[${i}]\`: ${error.message}`, "body.statement.supportKeys");
          throw error;
        }
      });
      const now = Date.now();
      const row = await app.audited(request, 201, async (trx) => {
        if (await repo.findGrantByNonce(trx, instance.id, grant.nonce)) {
          throw grantRefusal(new GrantError("replayed", "this grant (its nonce) was already submitted for this instance"));
        }
        const created: SupportGrantRow = {
          id: newId("sgr"),
          instance_id: instance.id,
          user_id: userId,
          statement: request.body.statement,
          signature: request.body.signature,
          signer: grant.signer,
          nonce: grant.nonce,
          not_before: grant.notBefore,
          not_after: grant.notAfter,
          reason: grant.reason,
          sources: JSON.stringify(grant.sources),
          support_key_fingerprints: JSON.stringify(supportKeyFingerprints),
          created_at: new Date(now).toISOString(),
          revoked_at: null,
          cloud_firewall: "opening",
          cloud_firewall_error: null,
        };
        try {
          await repo.insertGrant(trx, created);
        } catch (error) {
          if (isUniqueViolation(error)) throw grantRefusal(new GrantError("replayed", "this grant (its nonce) was already submitted for this instance"));
          throw error;
        }
        request.auditTarget = `${instance.id}:${created.id}`;
        return created;
      });
      // The cloud firewall's half: opened by a job on the stack's lock (or by the sweep once the stack is free).
      await openInCloudFirewall(instance, "support-open", request.id);
      return reply.code(201).send(grantViewOf(row, now));
    },
  );

  app.delete(
    "/v1/instances/:id/support-grants/:grantId",
    {
      config: { audit: "support_grant.revoke" },
      schema: {
        tags: ["zero-access"],
        summary: "Revoke a support grant: the host removes the key, closes port 22 and ends open sessions within 60 s",
        security: bearerSecurity,
        params: grantParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const { id, grantId } = request.params;
      const instance = await ownInstance(app.db, userId, id);
      request.auditTarget = `${instance.id}:${grantId}`;
      await app.audited(request, 204, async (trx) => {
        if (!(await repo.findGrant(trx, instance.id, grantId))) throw notFound(`support grant \`${grantId}\``);
        await repo.revokeGrant(trx, grantId, nowIso());
      });
      if ((await repo.findGrant(app.db, instance.id, grantId))?.cloud_firewall === "closing") {
        await openInCloudFirewall(instance, "support-close", request.id);
      }
      return reply.code(204).send(null);
    },
  );
};

/** What a user (or an agent key with `instances:read`) may read about their instances' support access. */
const readerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook("onRequest", app.authenticate);
  app.addHook("onRequest", app.requireScope("instances:read"));

  app.get(
    "/v1/instances/:id/pinned-keys",
    {
      schema: {
        tags: ["zero-access"],
        summary:
          "The device keys this instance pinned at creation: the only keys its host trusts (compare the fingerprints with your devices'), and whether its host runs the support agent",
        security: bearerSecurity,
        params: instanceParams,
        response: { 200: pinnedKeysView, ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const keys = pinnedKeysOf(instance);
      const fingerprints = await pinnedFingerprints(keys);
      return { items: keys.map((key, i) => ({ fingerprint: fingerprints[i]!, key })), supportAgent: supportAgentState(instance) };
    },
  );

  app.get(
    "/v1/instances/:id/support-grants",
    {
      schema: {
        tags: ["zero-access"],
        summary: "Support grants of an instance, newest first, with their status",
        security: bearerSecurity,
        params: instanceParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
        response: { 200: z.object({ items: z.array(grantView) }), ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const now = Date.now();
      return { items: (await repo.listGrants(app.db, instance.id, request.query.limit)).map((row) => grantViewOf(row, now)) };
    },
  );

  app.get(
    "/v1/instances/:id/support-commands",
    {
      schema: {
        tags: ["zero-access"],
        summary: "Every command support ran on the instance, newest first: command line, times, exit status, byte counts (never output)",
        security: bearerSecurity,
        params: instanceParams,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          before: z.coerce.number().int().min(0).optional().describe("Records with a seq below this (paging)"),
        }),
        response: { 200: z.object({ items: z.array(commandView) }), ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const rows = await repo.listCommands(app.db, instance.id, { limit: request.query.limit, beforeSeq: request.query.before });
      return {
        items: rows.map((row) => ({
          seq: Number(row.seq),
          grantId: row.grant_id,
          operator: row.operator,
          operatorEmail: row.operator_email,
          commandLine: row.command_line,
          startedAt: row.started_at,
          endedAt: row.ended_at,
          exitStatus: Number(row.exit_status),
          stdoutBytes: Number(row.stdout_bytes),
          stderrBytes: Number(row.stderr_bytes),
        })),
      };
    },
  );

  app.get(
    "/v1/instances/:id/clawchat-keys",
    {
      config: { audit: "clawchat_keys.read" },
      schema: {
        tags: ["zero-access"],
        summary: "The ClawChat security file and bootstrap key, sealed to your device keys by the host (the API cannot open it); 404 until the host uploaded it",
        security: bearerSecurity,
        params: instanceParams,
        response: { 200: clawchatKeysView, ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      request.auditTarget = instance.id;
      const stored = await repo.findClawchatKeys(app.db, instance.id);
      if (!stored) throw notFound(`ClawChat keys of instance \`${instance.id}\` (the host uploads them after its first boot)`);
      return { box: JSON.parse(stored.box) as SealedBox, updatedAt: stored.updated_at };
    },
  );

  app.get(
    "/v1/support-keys",
    {
      schema: {
        tags: ["zero-access"],
        summary: "The provider's support SSH public keys: the keys a grant may name",
        security: bearerSecurity,
        response: { 200: z.object({ items: z.array(publishedSupportKeyView) }), ...errorResponses },
      },
    },
    async () => ({
      items: (await repo.listOperatorKeys(app.db, { activeOnly: true })).map((row) => ({ fingerprint: row.fingerprint, publicKey: row.public_key })),
    }),
  );
};

/** Operators (admins): the active grants, and the support keys that say which operator a session was. */
const operatorRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook("onRequest", app.authenticate);
  app.addHook("onRequest", app.requireAdmin);

  app.get(
    "/v1/admin/support-grants",
    {
      schema: {
        tags: ["admin"],
        summary: "Active support grants (not revoked, not ended), optionally of one instance",
        security: bearerSecurity,
        querystring: z.strictObject({ instanceId: resourceId("inst").optional() }),
        response: { 200: z.object({ items: z.array(adminGrantView) }), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await repo.activeGrants(app.db, nowIso(), request.query.instanceId);
      return {
        items: rows.map((row) => ({
          id: row.id,
          instanceId: row.instance_id,
          notBefore: row.not_before,
          notAfter: row.not_after,
          sources: JSON.parse(row.sources) as string[],
          supportKeyFingerprints: JSON.parse(row.support_key_fingerprints) as string[],
          address: addressOf(row.outputs),
        })),
      };
    },
  );

  const operatorKeyViewOf = (row: repo.OperatorKeyWithEmail): z.infer<typeof operatorKeyView> => ({
    id: row.id,
    fingerprint: row.fingerprint,
    publicKey: row.public_key,
    operatorId: row.user_id,
    operatorEmail: row.email,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  });

  app.post(
    "/v1/admin/support-keys",
    {
      config: { audit: "admin.support_key.create" },
      schema: {
        tags: ["admin"],
        summary: "Register your support SSH public key: commands a host reports under its fingerprint are attributed to you",
        security: bearerSecurity,
        body: operatorKeyBody,
        response: { 201: operatorKeyView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      let parsed: ReturnType<typeof parseSupportKey>;
      try {
        parsed = parseSupportKey(request.body.publicKey);
      } catch (error) {
        if (error instanceof SshKeyError) throw new HttpError(400, `\`publicKey\`: ${error.message}`, "body.publicKey");
        throw error;
      }
      const row = await app.audited(request, 201, async (trx) => {
        const created = { id: newId("osk"), user_id: userId, public_key: parsed.line, fingerprint: parsed.fingerprint, created_at: nowIso(), revoked_at: null };
        if (await repo.findOperatorKeyByFingerprint(trx, parsed.fingerprint)) {
          throw conflict(`\`publicKey\`: the key ${parsed.fingerprint} is already registered (a key belongs to one operator, for good)`, "body.publicKey");
        }
        await repo.insertOperatorKey(trx, created);
        request.auditTarget = created.id;
        return created;
      });
      const stored = await repo.findOperatorKeyWithEmail(app.db, row.id);
      return reply.code(201).send(operatorKeyViewOf(stored ?? { ...row, email: null }));
    },
  );

  app.get(
    "/v1/admin/support-keys",
    {
      schema: {
        tags: ["admin"],
        summary: "Every operator support key (revoked ones too) and whose it is",
        security: bearerSecurity,
        response: { 200: z.object({ items: z.array(operatorKeyView) }), ...errorResponses },
      },
    },
    async () => ({ items: (await repo.listOperatorKeys(app.db, { activeOnly: false })).map(operatorKeyViewOf) }),
  );

  app.delete(
    "/v1/admin/support-keys/:id",
    {
      config: { audit: "admin.support_key.revoke" },
      schema: {
        tags: ["admin"],
        summary: "Stop publishing a support key (grants already signed for it stay valid until they end or are revoked)",
        security: bearerSecurity,
        params: z.strictObject({ id: zeroAccessId("osk") }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      await app.audited(request, 204, async (trx) => {
        if (!(await repo.findOperatorKey(trx, id))) throw notFound(`support key \`${id}\``);
        await repo.revokeOperatorKey(trx, id, nowIso());
      });
      return reply.code(204).send(null);
    },
  );
};

/** The host's calls, with its own `cshost_` token, for its own instance only. */
const hostRoutes: FastifyPluginAsyncZod = async (app) => {
  const hosts = new WeakMap<FastifyRequest, HostPrincipal>();
  app.addHook("preHandler", async (request) => {
    const { id } = request.params as { id: string };
    hosts.set(request, await authenticateHost(app.db, request, id));
  });
  const hostOf = (request: FastifyRequest): HostPrincipal => {
    const host = hosts.get(request);
    if (!host) throw unauthorized();
    return host;
  };
  const hostSecurity = [{ bearerAuth: [] }];
  const limited = { rateLimit: { max: HOST_ROUTE_RATE_LIMIT } };

  app.get(
    "/v1/host/instances/:id/support-grants",
    {
      config: limited,
      schema: {
        tags: ["host"],
        summary: "The host's poll: its unexpired, unrevoked grants (it verifies each itself) and the grants revoked before their end",
        security: hostSecurity,
        params: instanceParams,
        response: { 200: hostGrantsView, ...errorResponses },
      },
    },
    async (request) => {
      const host = hostOf(request);
      const now = nowIso();
      const rows = await repo.unexpiredGrants(app.db, host.instanceId, now);
      const rotationRequestedAt = await pendingHostRotation(app.db, host.instanceId);
      const setup = await activeGatewayAdminGrants(app.db, host.instanceId, now);
      return {
        grants: rows.filter((row) => row.revoked_at === null).map((row) => ({ id: row.id, statement: row.statement, signature: row.signature })),
        revoked: rows.filter((row) => row.revoked_at !== null).map((row) => row.id),
        now,
        gatewayTokenRotation: rotationRequestedAt ? { requestedAt: rotationRequestedAt } : null,
        gatewayAdmin: setup.map((row) => ({ id: row.id, statement: row.statement, signature: row.signature })),
      };
    },
  );

  app.post(
    "/v1/host/instances/:id/gateway-token",
    {
      // The registration route's bucket (CLAWSTACK_LOGIN_RATE_LIMIT): the same kind of call, a host handing over its gateway token.
      config: { rateLimit: { max: app.config.rateLimit.loginMax }, audit: "instance.gateway_token.rotated" },
      schema: {
        tags: ["host"],
        summary:
          "The host's new gateway token after it rotated it itself (asked through its poll, or on its own): the API swaps its sealed copy; the certificate pin must not change",
        security: hostSecurity,
        params: instanceParams,
        body: hostGatewayTokenBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const host = hostOf(request);
      request.auditTarget = host.instanceId;
      const { gatewayToken, tlsCertSha256 } = request.body;
      await app.audited(request, 204, async (trx) => {
        const pinned = await registrationOf(trx, host.instanceId);
        if (!pinned?.tls_fingerprint) throw conflict("the instance has not registered yet: first boot registers with its registration token", "id");
        if (pinned.tls_fingerprint !== tlsCertSha256) {
          throw new HttpError(409, "`tlsCertSha256`: the gateway's certificate is pinned and does not change with a token rotation", "body.tlsCertSha256");
        }
        const secretId = await storeGatewayToken(trx, app.vault.wrapper, { userId: host.ownerId, instanceId: host.instanceId, token: gatewayToken });
        await markInstanceRegistered(trx, host.instanceId, { secretId, tlsFingerprint: tlsCertSha256 });
        await clearHostRotation(trx, host.instanceId);
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/host/instances/:id/support-commands",
    {
      config: { ...limited, audit: "support.commands.upload" },
      schema: {
        tags: ["host"],
        summary: "The forced-command wrapper's records (no output): stored once per seq, each one an audit entry `support.command` of the owner",
        security: hostSecurity,
        params: instanceParams,
        body: commandsBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const host = hostOf(request);
      request.auditTarget = host.instanceId;
      const { entries } = request.body;
      entries.forEach((entry, i) => {
        if (Date.parse(entry.endedAt) < Date.parse(entry.startedAt)) {
          throw new HttpError(400, `\`entries[${i}].endedAt\`: must not be before \`startedAt\``, `body.entries.${i}.endedAt`);
        }
      });
      const known = await repo.grantsOf(app.db, host.instanceId, [...new Set(entries.map((entry) => entry.grantId))]);
      entries.forEach((entry, i) => {
        if (!known.has(entry.grantId)) throw new HttpError(400, `\`entries[${i}].grantId\`: not a grant of this instance`, `body.entries.${i}.grantId`);
      });
      const receivedAt = nowIso();
      await app.audited(request, 204, async (trx) => {
        for (const entry of entries) {
          const fingerprint = operatorFingerprint(entry.operator, known.get(entry.grantId) ?? []);
          const operatorKey = fingerprint === undefined ? undefined : await repo.findOperatorKeyByFingerprint(trx, fingerprint);
          const stored = await repo.insertCommand(trx, {
            instance_id: host.instanceId,
            seq: entry.seq,
            grant_id: entry.grantId,
            operator: entry.operator,
            operator_user_id: operatorKey?.user_id ?? null,
            command_line: entry.commandLine,
            started_at: entry.startedAt,
            ended_at: entry.endedAt,
            exit_status: entry.exitStatus,
            stdout_bytes: entry.stdoutBytes,
            stderr_bytes: entry.stderrBytes,
            received_at: receivedAt,
          });
          if (!stored) continue;
          // The owner's audit log: one entry per command (metadata only; the command line is in support-commands).
          await app.audit.record(
            {
              action: "support.command",
              result: entry.exitStatus === 0 ? "ok" : "error",
              actorUserId: host.ownerId,
              actorKind: "system",
              target: `${host.instanceId}:${entry.grantId}:${entry.seq}:exit=${entry.exitStatus}`,
              bytesOut: entry.stdoutBytes + entry.stderrBytes,
              latencyMs: Date.parse(entry.endedAt) - Date.parse(entry.startedAt),
              requestId: request.id,
            },
            trx,
          );
        }
      });
      return reply.code(204).send(null);
    },
  );

  app.put(
    "/v1/host/instances/:id/clawchat-keys",
    {
      bodyLimit: CLAWCHAT_BODY_LIMIT,
      config: { ...limited, audit: "clawchat_keys.upload" },
      schema: {
        tags: ["host"],
        summary: "The ClawChat security file and bootstrap key sealed to exactly the instance's pinned device keys (replaces the earlier box)",
        security: hostSecurity,
        params: instanceParams,
        body: clawchatKeysBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const host = hostOf(request);
      request.auditTarget = host.instanceId;
      const box = request.body.box as SealedBox;
      try {
        checkSealedBox(box);
      } catch (error) {
        if (error instanceof SealedBoxError) throw new HttpError(400, `\`box\`: ${error.message}`, "body.box");
        throw error;
      }
      const context = `clawchat-keys:${host.instanceId}`;
      if (box.context !== context) throw new HttpError(400, `\`box.context\`: must be "${context}"`, "body.box.context");
      const expected = [...new Set(await pinnedFingerprints(pinnedKeysOf({ pinned_keys: host.pinnedKeys })))].sort();
      if (expected.length === 0) throw conflict("`id`: this instance pins no device key, so nothing can be sealed to its owner", "params.id");
      const given = box.recipients.map((recipient) => recipient.fingerprint).sort();
      if (given.length !== expected.length || given.some((fingerprint, i) => fingerprint !== expected[i])) {
        throw new HttpError(
          400,
          `\`box.recipients\`: must be sealed to exactly the instance's pinned device keys (${expected.join(", ")}); given ${given.join(", ")}`,
          "body.box.recipients",
        );
      }
      await app.audited(request, 204, async (trx) => {
        await repo.storeClawchatKeys(trx, host.instanceId, JSON.stringify(box), nowIso());
        await app.audit.record(
          { action: "clawchat_keys.sealed", result: "ok", actorUserId: host.ownerId, actorKind: "system", target: host.instanceId, requestId: request.id },
          trx,
        );
      });
      return reply.code(204).send(null);
    },
  );
};

/**
 * The support key a session used, from what the host reports: `ssh-key:SHA256:...` (sshd told it the key) or
 * a bare `SHA256:...`; when it only knows the grant (`grant:<id>`), the grant's key if it names exactly one.
 */
function operatorFingerprint(reported: string, grantKeys: string[]): string | undefined {
  const match = /^(?:ssh-key:)?(SHA256:[A-Za-z0-9+/]{43})$/.exec(reported);
  if (match) return match[1];
  return grantKeys.length === 1 ? grantKeys[0] : undefined;
}

/** The public IPv4 address in a host stack's outputs, if any. */
function addressOf(outputs: string | null): string | null {
  if (outputs === null) return null;
  try {
    const value = (JSON.parse(outputs) as Record<string, unknown>).publicIpv4;
    return typeof value === "string" && /^[0-9.]{7,15}$/.test(value) ? value : null;
  } catch {
    return null;
  }
}

/** The four groups, each encapsulated with its own authentication, and the public agent bundle. */
export const supportRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(agentBundleRoutes);
  await app.register(ownerRoutes);
  await app.register(readerRoutes);
  await app.register(operatorRoutes);
  await app.register(hostRoutes);
  await app.register(gatewayAdminRoutes);
};
