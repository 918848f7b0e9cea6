/**
 * TLS to a host's gateway, pinned to the SHA-256 fingerprint of the
 * certificate the host registered: no CA is trusted, the name is not
 * checked (hosts are addressed by IP with a self-signed certificate), and
 * nothing falls back. The fingerprint is compared on `secureConnect`, before
 * the caller gets the socket, so no byte of the request (and never the
 * gateway token) is written to a server that presented another certificate.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { connect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";

export type PinnedConnectFailure = "unreachable" | "certificate_mismatch" | "timeout";

export class PinnedConnectError extends Error {
  constructor(
    readonly reason: PinnedConnectFailure,
    message: string,
    /** hex SHA-256 of what the server presented, on a mismatch. */
    readonly presentedSha256?: string,
  ) {
    super(message);
  }
}

export interface PinnedTarget {
  host: string;
  port: number;
  /** hex SHA-256 (64 lowercase characters) of the certificate's DER. */
  sha256: string;
}

/** hex SHA-256 of a DER certificate. */
export function certificateSha256(der: Buffer): string {
  return createHash("sha256").update(der).digest("hex");
}

function sameFingerprint(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}

/**
 * One OpenSSL context for every pinned connection of the process. It holds no key, certificate or CA (the
 * fingerprint compare is the whole trust decision), so sharing it changes nothing about what is accepted;
 * without it `tls.connect` builds a context per socket, about 13 KiB that each idle proxied connection kept.
 */
let sharedContext: SecureContext | undefined;
function pinnedContext(): SecureContext {
  sharedContext ??= createSecureContext({});
  return sharedContext;
}

/** A TLS socket to `target` whose certificate is exactly the pinned one; rejects otherwise. */
export function connectPinned(target: PinnedTarget, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      // No CA trust and no name check: the fingerprint compare below is the whole decision.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      secureContext: pinnedContext(),
      ...(isIpAddress(target.host) ? {} : { servername: target.host }),
      ALPNProtocols: ["http/1.1"],
    });
    const timer = setTimeout(() => fail(new PinnedConnectError("timeout", `no TLS handshake with the gateway within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: PinnedConnectError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onError = (error: NodeJS.ErrnoException) =>
      fail(new PinnedConnectError("unreachable", `the gateway is unreachable (${error.code ?? error.message})`));
    socket.once("error", onError);
    socket.once("secureConnect", () => {
      const der = socket.getPeerCertificate(false)?.raw;
      const presented = der ? certificateSha256(der) : "";
      if (!sameFingerprint(presented, target.sha256)) {
        fail(new PinnedConnectError("certificate_mismatch", "the gateway presented a certificate other than the registered one", presented || undefined));
        return;
      }
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}
