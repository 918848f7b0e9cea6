/**
 * Why the proxy closed a WebSocket: one code per reason (4000-4999 are the
 * application's range), the same text every time. A close the gateway
 * itself sent (1000, 1008 "device identity required"...) is passed on as is.
 */
export const CLOSE_CODES = {
  /** The first client frame was not the gateway's `connect` request, or carried a device identity. */
  badHandshake: { code: 4400, reason: "the first frame must be the gateway `connect` request, without device identity" },
  /** The client's `connect` carried a token, password or other credential: the proxy authenticates for it. */
  clientCredentials: { code: 4401, reason: "credentials in `connect` are refused: the proxy authenticates to the gateway" },
  /** The client's `connect` asked for `operator.admin` without a setup window the owner signed (api/support/gateway-admin.ts). */
  adminOutsideWindow: { code: 4402, reason: "operator.admin only inside a gateway setup window the owner signed" },
  /** The session that issued the ticket was signed out everywhere, its API key revoked or its account deleted. */
  sessionRevoked: { code: 4403, reason: "session revoked" },
  /** The instance is being deleted, was deleted or no longer has a registered gateway. */
  instanceDeleted: { code: 4404, reason: "instance deleted" },
  /** No message either way for the idle timeout, or a side stopped answering pings. */
  idle: { code: 4408, reason: "idle timeout" },
  /** The per-user or per-process connection cap is reached. */
  tooManyConnections: { code: 4429, reason: "too many open gateway connections" },
  /** The gateway sent a frame holding its own token (never passed on). */
  tokenLeak: { code: 4500, reason: "the gateway sent a credential; connection closed" },
  /** No TCP or TLS connection to the gateway. */
  hostUnreachable: { code: 4502, reason: "gateway unreachable" },
  /** The gateway presented a certificate other than the one its host registered. */
  certificateMismatch: { code: 4503, reason: "gateway certificate does not match the registered one" },
  /** The gateway's connection dropped without a close frame. */
  gatewayLost: { code: 4504, reason: "gateway connection lost" },
  /** This API process is shutting down; reconnect (another process takes it). */
  shuttingDown: { code: 1001, reason: "proxy restarting, reconnect" },
} as const;

export type CloseReason = keyof typeof CLOSE_CODES;

/** Whether `code` may be sent in a close frame (RFC 6455 §7.4). */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014 && code !== 1010) || (code >= 3000 && code <= 4999);
}
