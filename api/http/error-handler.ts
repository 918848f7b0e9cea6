/**
 * The one error handler. 4xx answers say what was wrong and name the field;
 * 5xx answers say only "internal error" and the request id (details go to the
 * log, with secrets redacted). Every answer has the same shape:
 * `{ statusCode, error, message, field? , requestId }`, including the ones
 * Fastify and Node would otherwise write themselves: `answerFrameworkError`
 * (Fastify's `frameworkErrors`: a path that is not valid percent-encoding, an
 * over-long path parameter) and `answerClientError` (Node's `clientError`: a
 * request the HTTP parser refused, answered on the raw socket).
 */
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { HttpError } from "./errors";
import { rawErrorAnswer, stampResponse } from "./security-headers";

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  field?: string;
  requestId: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  408: "Request Timeout",
  413: "Payload Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = describeError(error, request.id, app.initialConfig.bodyLimit ?? 0);
    if (body.statusCode >= 500) {
      request.log.error({ err: error }, "request failed");
    }
    if (body.statusCode === 429 && reply.getHeader("retry-after") === undefined) {
      reply.header("retry-after", "60");
    }
    return reply.code(body.statusCode).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    return reply.code(404).send({
      statusCode: 404,
      error: "Not Found",
      message: `no route \`${request.method} ${path}\``,
      requestId: request.id,
    } satisfies ErrorBody);
  });
}

function describeError(error: FastifyError, requestId: string, bodyLimit: number): ErrorBody {
  const make = (statusCode: number, message: string, field?: string): ErrorBody => ({
    statusCode,
    error: STATUS_NAMES[statusCode] ?? (statusCode >= 500 ? "Internal Server Error" : "Bad Request"),
    message,
    ...(field !== undefined ? { field } : {}),
    requestId,
  });

  if (error instanceof HttpError) return make(error.statusCode, error.message, error.field);

  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0];
    const context = error.validationContext ?? "body";
    if (issue === undefined) return make(400, `invalid ${context}`);
    const path = issue.instancePath.split("/").filter((part) => part.length > 0);
    const field = [context, ...path].join(".");
    const params = issue.params as { keys?: unknown } | undefined;
    const unknownKeys = issue.keyword === "unrecognized_keys" && Array.isArray(params?.keys) ? params.keys.map(String) : [];
    if (unknownKeys.length > 0) {
      return make(
        400,
        `\`${field}\`: unknown field${unknownKeys.length > 1 ? "s" : ""} ${unknownKeys.map((k) => `\`${k}\``).join(", ")} (not allowed)`,
        `${field}.${unknownKeys[0]}`,
      );
    }
    return make(400, `\`${field}\`: ${issue.message}`, field);
  }

  // ioredis gave up on the shared rate-limit store: refuse (closed) rather than serve unlimited.
  if (error.name === "MaxRetriesPerRequestError") {
    return make(503, "service unavailable: the shared rate-limit store (Redis) is unreachable; try again shortly");
  }

  const code = error.code;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return make(413, `\`body\`: larger than the ${bodyLimit}-byte limit`, "body");
  }
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return make(415, "unsupported `content-type`: send `application/json`", "headers.content-type");
  }
  if (code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return make(400, "`body`: empty body with `content-type: application/json`; send a JSON object", "body");
  }
  if (error instanceof SyntaxError || code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return make(400, "`body`: malformed JSON (it does not parse)", "body");
  }
  const status = typeof error.statusCode === "number" ? error.statusCode : 500;
  // Fastify's other refusals of a body (length mismatch, unsupported encoding...) and of a request.
  if (status >= 400 && status < 500 && code?.startsWith("FST_ERR_CTP_")) return make(status, `\`body\`: ${error.message}`, "body");
  if (status >= 400 && status < 500) return make(status, `\`request\`: ${error.message}`, "request");
  return make(500, `internal error (request ${requestId})`);
}

/**
 * Fastify's `frameworkErrors`: requests it refuses before routing. The reply is outside every
 * hook, so the headers are stamped here (the server factory already did for real sockets).
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  stampResponse(request.raw, reply.raw);
  const answer = (statusCode: number, message: string, field: string) =>
    reply.code(statusCode).send({ statusCode, error: STATUS_NAMES[statusCode] ?? "Bad Request", message, field, requestId: request.id } satisfies ErrorBody);
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    answer(414, "`params`: a path parameter is longer than 100 characters (no id of this API is)", "params");
  } else if (error.code === "FST_ERR_BAD_URL") {
    answer(400, "`url`: the path is not valid percent-encoded UTF-8", "url");
  } else {
    request.log.error({ err: error }, "request refused before routing");
    answer(400, "`url`: this request cannot be routed", "url");
  }
}

/** Node's `clientError`: the HTTP parser refused the request; answered on the raw socket, headers written by hand. */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [statusCode, message, field] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "`headers`: the request line and headers are larger than the server accepts", "headers"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "`request`: the request was not received in time", "request"]
        : [400, "`request`: malformed HTTP request (request line, headers or body framing)", "request"];
  const { text, requestId } = rawErrorAnswer(statusCode, STATUS_NAMES[statusCode]!, message, field);
  this.log.info({ requestId, code: error.code, statusCode }, "refused a malformed HTTP request");
  if (socket.writable) socket.write(text);
  socket.destroy();
}
