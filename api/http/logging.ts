/**
 * The pino logger: JSON lines, secrets redacted wherever they could appear.
 * Requests are logged by method, path (never the query string, which could
 * carry a token) and remote address; headers and bodies are never logged.
 */
import type { FastifyBaseLogger } from "fastify";
import pino, { type DestinationStream } from "pino";
import type { ApiConfig } from "../config";

/** Field names that can carry a secret, redacted at the top level and one or two levels down. */
export const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "password",
  "newPassword",
  "passphrase",
  "token",
  "accessToken",
  "refreshToken",
  "apiKey",
  "key",
  "secret",
  "masterKey",
  "masterKeys",
  "credential",
  "config",
  "externalId",
  "body",
  "headers",
];

export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

interface SerializableRequest {
  id?: string;
  method?: string;
  url?: string;
  ip?: string;
}

export function createLogger(config: Pick<ApiConfig, "logLevel">, stream?: DestinationStream): FastifyBaseLogger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: {
      req: (request: SerializableRequest) => ({
        id: request.id,
        method: request.method,
        path: typeof request.url === "string" ? request.url.split("?")[0] : undefined,
        remoteAddress: request.ip,
      }),
      res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return stream ? pino(options, stream) : pino(options);
}
