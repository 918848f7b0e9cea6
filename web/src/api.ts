/**
 * The dashboard's one way to the API. The access token lives in this module's memory only
 * (never storage, never a cookie); the refresh token lives in an HttpOnly cookie the page cannot
 * read, sent only to `/v1/auth/session/*` together with the CSRF header (api/auth/browser-session.ts).
 * A 401 refreshes once through the cookie and retries once; if that fails, the user signs in again.
 */

/** An error answer of the API: its message names the field, `field` is its dotted path (`body.email`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const CSRF_COOKIE = "__Host-clawstack-csrf";
const CSRF_HEADER = "x-clawstack-csrf";

let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;
const signedOutListeners = new Set<() => void>();

export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function signedOut(): void {
  accessToken = undefined;
  for (const listener of signedOutListeners) listener();
}

function csrfToken(): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return value.join("=");
  }
  return undefined;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { message?: string; field?: string; requestId?: string };
    return new ApiError(response.status, body.message ?? response.statusText, body.field, body.requestId);
  } catch {
    return new ApiError(response.status, `${response.status} ${response.statusText}`);
  }
}

/** Signs in; the answer sets the refresh cookie, and only the access token reaches this page. */
export async function signIn(email: string, password: string): Promise<void> {
  const response = await fetch("/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json", "x-clawstack-session": "cookie" },
    body: JSON.stringify({ email, password }),
    credentials: "same-origin",
  });
  if (!response.ok) throw await errorOf(response);
  accessToken = ((await response.json()) as { accessToken: string }).accessToken;
}

/** One refresh at a time: concurrent 401s wait for the same rotation (a second one would be a replay). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const csrf = csrfToken();
    if (!csrf) return false;
    const response = await fetch("/v1/auth/session/refresh", { method: "POST", headers: { [CSRF_HEADER]: csrf }, credentials: "same-origin" });
    if (!response.ok) return false;
    accessToken = ((await response.json()) as { accessToken: string }).accessToken;
    return true;
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

export function isSignedIn(): boolean {
  return accessToken !== undefined;
}

/** Signs out this browser: the session is revoked and both cookies cleared; the token in memory is dropped. */
export async function signOut(): Promise<void> {
  const csrf = csrfToken();
  try {
    if (csrf) await fetch("/v1/auth/session/logout", { method: "POST", headers: { [CSRF_HEADER]: csrf }, credentials: "same-origin" });
  } finally {
    signedOut();
  }
}

/** Forgets the session after the API ended it (sign out everywhere, password change, account deleted). */
export async function endedByServer(): Promise<void> {
  await signOut();
}

export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An authenticated fetch: bearer header, one refresh on 401, then back to sign-in. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const attempt = () => {
    const headers = new Headers(init.headers);
    if (accessToken) headers.set("authorization", `Bearer ${accessToken}`);
    return fetch(path, { ...init, headers, credentials: "same-origin" });
  };
  let response = await attempt();
  if (response.status === 401) {
    if (await refreshSession()) response = await attempt();
    if (response.status === 401) {
      signedOut();
      throw await errorOf(response);
    }
  }
  return response;
}

/** JSON in, JSON out; a non-2xx answer throws an ApiError naming the field. */
export async function api<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await authorizedFetch(path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Calls that need no session (register). */
export async function publicApi<T>(method: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(path, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

export interface JobEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Follows `GET /v1/jobs/:id/events` (server-sent events) with the bearer header: `EventSource`
 * cannot send one, so the stream is read with fetch. Reconnects with `Last-Event-ID` after a
 * dropped connection; resolves once the server sent `end`.
 */
export async function followJob(jobId: string, onEvent: (event: JobEvent) => void, signal: AbortSignal): Promise<void> {
  let lastId = 0;
  let retryMs = 2000;
  while (!signal.aborted) {
    let ended = false;
    try {
      const response = await authorizedFetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, {
        headers: lastId > 0 ? { "last-event-id": String(lastId) } : {},
        signal,
      });
      if (!response.ok || !response.body) throw await errorOf(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            if (colon < 0) continue;
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
          }
          if (fields.retry) retryMs = Number(fields.retry) || retryMs;
          if (!fields.event) continue;
          if (fields.id) lastId = Number(fields.id);
          if (fields.event === "end") ended = true;
          onEvent({ id: lastId, type: fields.event, data: fields.data ? (JSON.parse(fields.data) as Record<string, unknown>) : {} });
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    if (ended) return;
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
