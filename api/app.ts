/**
 * `buildApp(config)`: the provisioning API as a Fastify plugin tree.
 *
 * STABLE CONTRACT for route plugins (other parts of `api/` build on these names):
 *   app.config          ApiConfig (api/config.ts), validated at boot
 *   app.db              Kysely<Database> (every table declared in api/db/schema.ts, created by a migration
 *                       file `api/db/migrations/00N_*.ts`, run in name order at boot); SQL only in repositories
 *   app.dbEngine        "sqlite" | "postgres"
 *   route groups        (api/auth/route-groups.ts) register authentication once per group:
 *                       `scopedGroup` (users and agents; each route names `config: { scope }`), `userGroup`,
 *                       `adminGroup`; handlers read the caller with `principalOf(request)`
 *                       = { userId, role, kind: "user" | "agent", scopes, apiKeyId? }
 *   app.authenticate, app.requireScope(s), app.requireUser, app.requireAdmin: the hooks the groups use
 *   app.audit.record({ action, result, actorUserId, actorKind, target, ... })   (api/audit/audit-log.ts)
 *                       state-changing requests are audited automatically; name the action with
 *                       route `config: { audit: "thing.verb" }` and the target with `request.auditTarget = id`
 *   app.audited(request, status, async (trx) => change)   (api/audit/plugin.ts) every change goes through it:
 *                       its audit entry commits in the change's transaction, or neither does (500)
 *   app.vault.decrypt(userId, credentialId, { passphrase?, actor? }) -> CredentialSecret (api/vault/kinds.ts);
 *                       the vault audits every decrypt itself (`credential.decrypt`, actor `system` by default)
 *   app.vault.create(userId, input, trx?)                    -> stored row (ciphertext only)
 *   HttpError / badRequest / notFound ... (api/http/errors.ts): throw them; the one error handler answers
 *   Routes: append a FastifyPluginAsyncZod to `routePlugins` in api/routes/index.ts.
 */
import { createServer, type ServerOptions } from "node:http";
import cors from "@fastify/cors";
import swagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { Redis } from "ioredis";
import type { DestinationStream } from "pino";
import { auditPlugin } from "./audit/plugin";
import { authPlugin } from "./auth/plugin";
import type { ApiConfig } from "./config";
import { dashboardPlugin } from "./dashboard";
import { dbPlugin } from "./db/plugin";
import { answerClientError, answerFrameworkError, registerErrorHandler } from "./http/error-handler";
import { registerJsonBodyParser } from "./http/json-body";
import { createLogger } from "./http/logging";
import { rateLimitPlugin } from "./http/rate-limit";
import { requestIdOf, stampResponse } from "./http/security-headers";
import { routePlugins } from "./routes/index";
import { vaultPlugin } from "./vault/plugin";

declare module "fastify" {
  interface FastifyInstance {
    config: ApiConfig;
    /** `draining`: set on SIGTERM before closing; `GET /readyz` answers 503 so a load balancer stops sending. */
    readiness: { draining: boolean };
  }
}

/**
 * One log line per request, when it is answered, instead of Fastify's two (`incoming request`, then
 * `request completed`): each line costs a pass of the logger's redaction, about a tenth of an
 * authenticated read's CPU. The line carries what both did: method, path (no query), address,
 * status and time. Errors and everything else keep Fastify's own lines.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

export interface BuildOptions {
  /** Where log lines go (default stdout). Tests capture them to scan for secrets. */
  logStream?: DestinationStream;
}

export type App = FastifyInstance;

export async function buildApp(config: ApiConfig, options: BuildOptions = {}): Promise<App> {
  const app = Fastify({
    loggerInstance: createLogger(config, options.logStream),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    // The id stamped on the answer by the server factory (X-Request-Id) is the request's id.
    genReqId: (request) => requestIdOf(request),
    requestIdHeader: false,
    logController: new OneLinePerRequest(),
    return503OnClosing: true,
    // Answers Fastify and Node write themselves keep the API's error shape, headers and request id.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    serverFactory: stampingServer,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate("config", config);
  app.decorate("readiness", { draining: false });
  // JSON only (bounded nesting): any other content type is answered 415 rather than reaching a schema as a string.
  registerJsonBodyParser(app);
  registerErrorHandler(app);
  // First hook of every request (`inject` bypasses the server factory): security headers and X-Request-Id.
  app.addHook("onRequest", async (request, reply) => {
    stampResponse(request.raw, reply.raw);
  });

  // Graceful shutdown: once closing, answers in flight tell keep-alive clients to hang up, so
  // `app.close()` does not wait for their idle connections (Fastify keeps them 72 s by default).
  // An answer whose onSend ran before the signal carries no such header: its connection turns idle
  // after the answer, so idle connections are closed every 50 ms until the server has closed.
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook("preClose", async () => {
    closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
    sweeper.unref();
  });
  app.addHook("onClose", async () => {
    if (sweeper) clearInterval(sweeper);
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });

  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { connectTimeout: 2_000, maxRetriesPerRequest: 1, lazyConnect: false })
    : undefined;
  if (redis) {
    redis.on("error", (error: Error) => app.log.warn({ err: { message: error.message } }, "redis error"));
    app.addHook("onClose", async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  // Before CORS (a preflight counts) and before every route's authentication hooks.
  await app.register(rateLimitPlugin, { limits: config.rateLimit, redis });
  await app.register(cors, {
    // Empty allow-list: no cross-origin access at all.
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    methods: ["GET", "POST", "PATCH", "DELETE"],
    credentials: false,
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "ClawStack provisioning API",
        version: "1.0.0",
        description: "Accounts, agent API keys, an encrypted credential vault and a metadata-only audit log.",
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", description: "JWT access token or `clk_` agent API key" },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  await app.register(dbPlugin, { database: config.database });
  await app.register(authPlugin, { config });
  await app.register(vaultPlugin, { config });
  await app.register(auditPlugin);

  for (const plugin of routePlugins) await app.register(plugin);
  // The web dashboard at `/` (static files, its own Content-Security-Policy).
  await app.register(dashboardPlugin);

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}

/**
 * Fastify's own HTTP/1.1 server (same timeouts), with the security headers and the request id
 * set on every `ServerResponse` before Fastify handles it: answers Fastify writes straight to the
 * response (503 while closing, bad URL) carry them too.
 */
const stampingServer: FastifyServerFactory = (handler, factoryOptions) => {
  const options = factoryOptions as ServerTimeouts & { http?: ServerOptions };
  const server = createServer(options.http ?? {}, (request, response) => {
    stampResponse(request, response);
    handler(request, response);
  });
  server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
  server.requestTimeout = options.requestTimeout ?? 0;
  server.setTimeout(options.connectionTimeout ?? 0);
  if (options.maxRequestsPerSocket !== undefined && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
  return server;
};

/** The server settings Fastify resolves and passes to the server factory. */
interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}
