/**
 * The small DigitalOcean API client ClawStack's runtime code uses with a
 * customer's token (the token check and the volume snapshot job). The token
 * goes into the `Authorization` header and nowhere else: not into URLs, error
 * messages, or anything a caller might log.
 */

export const DIGITALOCEAN_API_BASE_URL = "https://api.digitalocean.com";

export interface DigitalOceanApiOptions {
  /** Defaults to `https://api.digitalocean.com`; tests point it at a loopback server. */
  readonly baseUrl?: string;
  /** Per-request timeout. Defaults to 15 s. */
  readonly timeoutMs?: number;
}

export interface DigitalOceanResponse {
  readonly status: number;
  /** The parsed JSON body, or `undefined` for an empty or non-JSON body. */
  readonly body: unknown;
}

/** A failure to talk to the API at all (network, timeout). Never carries the token. */
export class DigitalOceanApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DigitalOceanApiError";
  }
}

/**
 * Holds a token for API calls without exposing it: the value is kept in a
 * closure, and the object prints as `[DigitalOcean token]` however it is logged.
 */
export class DigitalOceanToken {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== "string" || value.trim().length === 0) {
      throw new TypeError("`token` must be a non-empty DigitalOcean API token");
    }
    this.#value = value.trim();
  }

  /** @internal Only `digitalOceanRequest` reads it. */
  authorizationHeader(): string {
    return `Bearer ${this.#value}`;
  }

  toString(): string {
    return "[DigitalOcean token]";
  }

  toJSON(): string {
    return "[DigitalOcean token]";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[DigitalOcean token]";
  }
}

export async function digitalOceanRequest(
  token: DigitalOceanToken,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  options: DigitalOceanApiOptions & { body?: unknown } = {},
): Promise<DigitalOceanResponse> {
  const baseUrl = (options.baseUrl ?? DIGITALOCEAN_API_BASE_URL).replace(/\/+$/, "");
  const url = `${baseUrl}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        Authorization: token.authorizationHeader(),
        Accept: "application/json",
        ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      redirect: "error",
    });
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.name) : "unknown";
    throw new DigitalOceanApiError(`could not reach the DigitalOcean API (${method} ${baseUrl}${stripQuery(path)}): ${reason}`);
  }
  const text = await response.text();
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: response.status, body };
}

/** DigitalOcean's error body is `{ id, message }`; returns the message when there is one. */
export function digitalOceanErrorMessage(body: unknown): string | undefined {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    return body.message.slice(0, 200);
  }
  return undefined;
}

function stripQuery(path: string): string {
  const index = path.indexOf("?");
  return index === -1 ? path : path.slice(0, index);
}
