import { connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** The SHA-256 fingerprint (lowercase hex) of the certificate served on 127.0.0.1:`port`, or undefined. */
export function servedFingerprint(port: number, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "openclaw" });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint ? fingerprint.replace(/:/g, "").toLowerCase() : undefined);
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Whether anything answers on a forwarded port. QEMU's user-mode network
 * accepts every connection to a forwarded port on the host side and then
 * connects to the guest, so "accepted" means nothing; what counts is whether
 * the guest sends a byte back (an SSH banner, an HTTP or TLS answer) to an
 * HTTP request and a TLS ClientHello-looking probe within `waitMs`.
 */
export function answers(port: number, waitMs = 4000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    let answered = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(finish, waitMs);
    socket.once("connect", () => socket.write("GET /readyz HTTP/1.0\r\nHost: probe\r\n\r\n"));
    socket.on("data", () => {
      answered = true;
      finish();
    });
    socket.once("error", finish);
    socket.once("close", finish);
  });
}

/** GET https://127.0.0.1:`port``path` pinned to `fingerprint`: status and body, or an error message. */
export function pinnedGet(port: number, path: string, fingerprint: string, timeoutMs = 10_000): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "openclaw" });
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ error: "timeout" });
    }, timeoutMs);
    socket.once("secureConnect", () => {
      const served = socket.getPeerCertificate().fingerprint256?.replace(/:/g, "").toLowerCase();
      if (served !== fingerprint) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ error: "certificate is not the pinned one" });
        return;
      }
      socket.write(`GET ${path} HTTP/1.1\r\nHost: openclaw\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", (chunk) => (data += chunk.toString("utf8")));
    socket.once("end", () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.split("\r\n\r\n").slice(1).join("\r\n\r\n") });
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      resolve({ error: error.message });
    });
  });
}
