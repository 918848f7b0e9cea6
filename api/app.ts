/**
 * `buildApp(config)`: the provisioning API as a Fastify plugin tree.
 *
 * STABLE CONTRACT for route plugins (other parts of `api/` build on these names):
 *   app.config          ApiConfig (api/config.ts), validated at boot
 *   app.db              Kysely<Database> (api/db/schema.ts; add tables by interface augmentation
 *                       and a migration file `api/db/migrations/00N_*.ts`, run in name order at boot)
 *   app.dbEngine        "sqlite" | "postgres"
 *   app.authenticate    hook: `onRequest: [app.authenticate]` sets
 *                       request.principal = { userId, role, kind: "user" | "agent", scopes, apiKeyId? }
 *   app.requireScope(s) hook after authenticate: agents need scope `s` (api/auth/principal.ts SCOPES)
 *   app.requireUser     hook after authenticate: refuses agent API keys
 *   app.requireAdmin    hook after authenticate: role admin only
 *   app.audit.record({ action, result, actorUserId, actorKind, target, ... })   (api/audit/audit-log.ts)
 *                       state-changing requests are audited automatically; name the action with
 *                       route `config: { audit: "thing.verb" }` and the target with `request.auditTarget = id`
 *   app.vault.decrypt(userId, credentialId, { passphrase?, actor? }) -> CredentialSecret (api/vault/kinds.ts);
 *                       the vault audits every decrypt itself (`credential.decrypt`, actor `system` by default)
 *   app.vault.create(userId, input, trx?)                    -> stored row (ciphertext only)
 *   HttpError / badRequest / notFound ... (api/http/errors.ts): throw them; the one error handler answers
 *   Routes: append a FastifyPluginAsyncZod to `routePlugins` in api/routes/index.ts.
 */
import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
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
import { dbPlugin } from "./db/plugin";
import { registerErrorHandler } from "./http/error-handler";
import { createLogger } from "./http/logging";
import { routePlugins } from "./routes/index";
import { vaultPlugin } from "./vault/plugin";

declare module "fastify" {
  interface FastifyInstance {
    config: ApiConfig;
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
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate("config", config);
  // JSON only: any other content type is answered 415 rather than reaching a schema as a string.
  app.removeContentTypeParser(["text/plain"]);
  registerErrorHandler(app);

  // Graceful shutdown: once closing, answers in flight tell keep-alive clients to hang up, so
  // `app.close()` does not wait for their idle connections (Fastify keeps them 72 s by default).
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    frameguard: { action: "deny" },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    noSniff: true,
    referrerPolicy: { policy: "no-referrer" },
  });
  await app.register(cors, {
    // Empty allow-list: no cross-origin access at all.
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    methods: ["GET", "POST", "PATCH", "DELETE"],
    credentials: false,
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
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    ...(redis ? { redis, nameSpace: "clawstack-rate-limit:" } : {}),
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

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}
