/**
 * The chat path: Claw Cloud is a pipe to each user's own gateway, not a
 * bucket (seed 001 §1; docs/proxy.md).
 *
 *   POST /v1/instances/:id/gateway/tickets    a single-use ticket (seconds) and the WebSocket URL that takes it
 *   GET  /v1/instances/:id/gateway?ticket=…   (WebSocket upgrade) the pass-through to the instance's gateway
 *   POST /v1/instances/:id/chat/completions   the gateway's OpenAI-compatible endpoint, streamed back (SSE)
 *
 * The upgrade is taken from Node's `upgrade` event with `ws` in `noServer`
 * mode rather than through @fastify/websocket: the ticket is the whole
 * authentication and must be spent before the 101, refusals are plain HTTP
 * answers written on the socket, and nothing of the request (its URL holds
 * the ticket) reaches Fastify's request log.
 */
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import { Transform } from "node:stream";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import fp from "fastify-plugin";
import { WebSocketServer } from "ws";
import { activeGatewayAdminGrants } from "../support/gateway-admin";
import { z } from "zod";
import { principalOf, scopedGroup } from "../auth/route-groups";
import { HttpError, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { findUserInstance } from "../jobs/instances-repo";
import { chatCompletionBody } from "./chat-completions-schema";
import { CLOSE_CODES } from "./close-codes";
import { ProxyConnections } from "./connections";
import { loadProxyDevice, useProxyDevice } from "./device-identity";
import { type BridgeSummary, GatewayBridge, newConnectionId } from "./gateway-bridge";
import { connectPinned, PinnedConnectError } from "./pinned-tls";
import type { ProxySettings } from "./settings";
import { TARGET_REFUSAL_MESSAGES, resolveTarget, targetRefusal } from "./target";
import { issueTicket, redeemTicket } from "./tickets";

declare module "fastify" {
  interface FastifyInstance {
    proxy: { settings: ProxySettings; connections: ProxyConnections };
  }
}

const GATEWAY_PATH = /^\/v1\/instances\/(inst_[0-9a-f]{32})\/gateway$/;

const ticketAnswer = z.object({
  ticket: z.string().describe("`cstk_…`, single use, valid until `expiresAt`"),
  url: z.string().describe("The WebSocket URL that takes this ticket (`?ticket=`); open it before `expiresAt`"),
  expiresAt: z.string(),
});

const routes: FastifyPluginAsyncZod = async (app) => {
  const settings = app.config.proxy;
  const connections = new ProxyConnections(app.db, settings, (error) =>
    app.log.error({ err: error instanceof Error ? error.message : String(error) }, "gateway revocation check failed"),
  );
  app.decorate("proxy", { settings, connections });
  // Every pass-through signs with the deployment's device (docs/proxy.md "Device identity").
  useProxyDevice(loadProxyDevice({ dataDir: app.config.dataDir, keyFile: settings.deviceKeyFile }));
  const sockets = new WebSocketServer({ noServer: true, maxPayload: settings.maxMessageBytes, perMessageDeflate: false, clientTracking: false });

  const instanceOf = async (userId: string, id: string) => {
    const instance = await findUserInstance(app.db, userId, id);
    if (!instance) throw notFound(`instance \`${id}\``);
    return instance;
  };

  // Users, and agents with `instances:write`.
  await app.register(
    scopedGroup(async (group) => {
      group.post(
        "/v1/instances/:id/gateway/tickets",
        {
          config: { scope: "instances:write", audit: "instance.gateway.ticket" },
          schema: {
            tags: ["gateway"],
            summary: "A single-use ticket (valid for seconds) to open the WebSocket pass-through to your instance's gateway",
            security: bearerSecurity,
            params: idParamsOf("inst"),
            response: { 201: ticketAnswer, ...errorResponses },
          },
        },
        async (request, reply) => {
          const principal = principalOf(request);
          const instance = await instanceOf(principal.userId, request.params.id);
          request.auditTarget = instance.id;
          const refusal = targetRefusal(instance);
          if (refusal) throw new HttpError(409, `instance \`${instance.id}\`: ${TARGET_REFUSAL_MESSAGES[refusal]}`, "id");
          const issued = await app.audited(request, 201, (trx) =>
            issueTicket(trx, { userId: principal.userId, instanceId: instance.id, apiKeyId: principal.apiKeyId ?? null, ttlMs: settings.ticketTtlMs }),
          );
          return reply.code(201).send({ ...issued, url: `${webSocketBase(request.protocol, request.host)}/v1/instances/${instance.id}/gateway?ticket=${issued.ticket}` });
        },
      );
    }),
  );

  const onClosed = (summary: BridgeSummary, bridge: GatewayBridge) => {
    connections.remove(bridge);
    const { meta } = summary;
    app.log.info(
      {
        event: "ws_close", connectionId: meta.connectionId, userId: meta.userId, instanceId: meta.instanceId, closeCode: summary.closeCode,
        closedBy: summary.closedBy, durationMs: summary.durationMs, bytesUpstream: summary.bytesUpstream, bytesDownstream: summary.bytesDownstream,
        messagesUpstream: summary.messagesUpstream, messagesDownstream: summary.messagesDownstream,
      },
      "gateway connection closed",
    );
    app.audit
      .record({
        action: "instance.gateway.connection",
        result: summary.closedBy === "client" || summary.closeCode === 1000 || summary.closeCode === 1001 ? "ok" : summary.closedBy === "sessionRevoked" ? "denied" : "error",
        actorUserId: meta.userId,
        actorKind: meta.apiKeyId ? "agent" : "user",
        apiKeyId: meta.apiKeyId,
        target: meta.instanceId,
        statusCode: summary.closeCode,
        bytesIn: summary.bytesUpstream,
        bytesOut: summary.bytesDownstream,
        latencyMs: summary.durationMs,
        requestId: meta.connectionId,
      })
      .catch((error: unknown) => app.log.error({ err: error instanceof Error ? error.message : String(error), connectionId: meta.connectionId }, "gateway connection audit entry could not be written"));
  };

  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(request.url ?? "/", "http://proxy");
    const match = GATEWAY_PATH.exec(url.pathname);
    if (!match) return refuseUpgrade(socket, 404, "no WebSocket endpoint here");
    const instanceId = match[1]!;
    const ticket = url.searchParams.get("ticket") ?? "";
    const redeemed = await redeemTicket(app.db, instanceId, ticket);
    if (!redeemed) return refuseUpgrade(socket, 401, "`ticket`: not a valid ticket for this instance (tickets are single use and valid for seconds)");
    const instance = await findUserInstance(app.db, redeemed.userId, instanceId);
    // Only the owner's own ticket (not an agent key's) may use an open setup window.
    const adminWindow = redeemed.apiKeyId === null && (await activeGatewayAdminGrants(app.db, instanceId, new Date().toISOString())).length > 0;
    const meta = { connectionId: newConnectionId(), ...redeemed, adminWindow };
    sockets.handleUpgrade(request, socket, head, (client) => {
      const bridge: GatewayBridge = new GatewayBridge(client, meta, settings, app.log, (summary) => onClosed(summary, bridge));
      const refusal = connections.refusal(meta.userId);
      connections.add(bridge);
      app.log.info({ event: "ws_open", connectionId: meta.connectionId, userId: meta.userId, instanceId }, "gateway connection opened");
      if (refusal) return bridge.close(refusal);
      if (!instance || targetRefusal(instance) !== undefined) return bridge.close("instanceDeleted");
      resolveTarget(app.db, app.vault.wrapper, instance)
        .then((target) => (target ? bridge.connect(target) : bridge.close("instanceDeleted")))
        .catch((error: unknown) => {
          app.log.error({ err: error instanceof Error ? error.message : String(error), connectionId: meta.connectionId }, "gateway connection setup failed");
          bridge.close("hostUnreachable");
        });
    });
  };
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(request, socket, head).catch((error: unknown) => {
      app.log.error({ err: error instanceof Error ? error.message : String(error) }, "gateway upgrade failed");
      refuseUpgrade(socket, 500, "internal error");
    });
  };
  app.server.on("upgrade", onUpgrade);
  // This process closes at once what a deletion or a sign-out it answered ends; other processes
  // (and changes made outside the API) are caught by the revocation sweep.
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    if (reply.statusCode >= 300 || request.principal == null) return;
    if (request.method === "DELETE" && route === "/v1/instances/:id") {
      const { id } = request.params as { id: string };
      connections.closeWhere((bridge) => bridge.meta.instanceId === id, "instanceDeleted");
    } else if (route === "/v1/me/sign-out-everywhere" || route === "/v1/me/password" || route === "/v1/me" || (request.method === "DELETE" && route === "/v1/api-keys/:id")) {
      await connections.checkRevocations();
    }
  });
  app.addHook("preClose", async () => {
    app.server.off("upgrade", onUpgrade);
    await connections.stop();
  });

  // Users, and agents with `instances:write`.
  await app.register(
    scopedGroup(async (group) => {
      group.post(
        "/v1/instances/:id/chat/completions",
        {
          config: { scope: "instances:write", audit: "instance.gateway.chat_completions" },
          schema: {
            tags: ["gateway"],
            summary:
              "OpenAI-compatible chat completions on your instance's gateway, passed through (streamed chunk by chunk with `stream: true`); only where the host exposes the endpoint to the proxy",
            security: bearerSecurity,
            params: idParamsOf("inst"),
            body: chatCompletionBody.describe("An OpenAI chat completion request, passed on as parsed"),
            response: { ...errorResponses, 502: errorResponses[404], 503: errorResponses[404] },
          },
        },
        async (request, reply) => {
          const principal = principalOf(request);
          const instance = await instanceOf(principal.userId, request.params.id);
          request.auditTarget = instance.id;
          const refusal = targetRefusal(instance);
          if (refusal) throw new HttpError(409, `instance \`${instance.id}\`: ${TARGET_REFUSAL_MESSAGES[refusal]}`, "id");
          const target = await resolveTarget(app.db, app.vault.wrapper, instance);
          if (!target) throw new HttpError(409, `instance \`${instance.id}\`: ${TARGET_REFUSAL_MESSAGES.not_registered}`, "id");
          const started = performance.now();
          let socket;
          try {
            socket = await connectPinned(target, settings.connectTimeoutMs);
          } catch (error) {
            const mismatch = error instanceof PinnedConnectError && error.reason === "certificate_mismatch";
            throw new HttpError(502, mismatch ? CLOSE_CODES.certificateMismatch.reason : CLOSE_CODES.hostUnreachable.reason);
          }
          const body = Buffer.from(JSON.stringify(request.body), "utf8");
          const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
            const outgoing = httpsRequest(
              {
                host: target.host,
                port: target.port,
                method: "POST",
                path: "/v1/chat/completions",
                createConnection: () => socket,
                headers: {
                  authorization: `Bearer ${target.token}`,
                  "content-type": "application/json",
                  "content-length": body.length,
                  accept: request.headers.accept ?? "application/json, text/event-stream",
                },
              },
              resolve,
            );
            outgoing.on("error", reject);
            outgoing.end(body);
          }).catch(() => {
            throw new HttpError(502, CLOSE_CODES.gatewayLost.reason);
          });
          const status = upstream.statusCode ?? 502;
          if (status === 401 || status === 403 || status === 404 || status === 405) {
            upstream.resume();
            throw new HttpError(
              502,
              status === 404 || status === 405
                ? "the gateway does not expose `/v1/chat/completions` to the proxy (hosts keep it loopback-only unless their owner opens it)"
                : "the gateway refused the registered gateway token (rotate it: docs/rotation.md)",
            );
          }
          let bytesOut = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              bytesOut += chunk.length;
              done(null, chunk);
            },
          });
          upstream.pipe(counter);
          upstream.on("error", () => counter.destroy());
          reply.raw.on("close", () => {
            upstream.destroy();
            const durationMs = Math.round(performance.now() - started);
            app.log.info({ event: "sse_close", userId: principal.userId, instanceId: instance.id, status, bytesIn: body.length, bytesOut, durationMs }, "gateway stream closed");
            app.audit
              .record({
                action: "instance.gateway.stream",
                result: status < 400 ? "ok" : "error",
                actorUserId: principal.userId,
                actorKind: principal.kind,
                apiKeyId: principal.apiKeyId ?? null,
                target: instance.id,
                statusCode: status,
                bytesIn: body.length,
                bytesOut,
                latencyMs: durationMs,
                requestId: request.id,
              })
              .catch((error: unknown) => app.log.error({ err: error instanceof Error ? error.message : String(error) }, "gateway stream audit entry could not be written"));
          });
          const contentType = upstream.headers["content-type"] ?? "application/json";
          // A stream is sent as is (no serializer): the route's response schemas describe only its errors.
          return (reply as unknown as FastifyReply)
            .code(status)
            .header("content-type", contentType)
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
            .send(counter);
        },
      );
    }),
  );
};

/** `ws://` or `wss://` and the host the client used (behind a TLS-terminating balancer, `CLAWSTACK_TRUST_PROXY` makes this `wss`). */
function webSocketBase(protocol: string, host: string): string {
  return `${protocol === "https" ? "wss" : "ws"}://${host}`;
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : status === 404 ? "Not Found" : "Internal Server Error"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export const proxyRoutes = fp(routes, { name: "clawstack-proxy-routes", dependencies: ["clawstack-db", "clawstack-vault", "clawstack-audit"] });
