import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, HOST_FROM_GUEST } from "./paths.js";

/**
 * The boot test's own certificate authority, and a server certificate it signs
 * for the host-side stand-ins (npm mirror, Node dist mirror, provisioning API).
 * The test image trusts this CA the way a real image trusts public CAs. Test
 * material only: it lives under the gitignored cache and never leaves it.
 */
export interface TestPki {
  caCertPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  caCert: string;
}

/** The server certificate's extensions: valid for the guest's view of the host and for loopback. */
const SERVER_EXTENSIONS = `subjectAltName=IP:${HOST_FROM_GUEST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`;

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function ensureTestPki(): TestPki {
  const dir = cacheDir("ca");
  const caCertPath = join(dir, "ca.pem");
  if (!existsSync(caCertPath)) {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
      "-days", "3650", "-subj", "/CN=ClawStack boot test CA", "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  }
  const serverCertPath = join(dir, "server.pem");
  const serverKeyPath = join(dir, "server.key");
  if (!existsSync(serverCertPath)) {
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
      "-subj", "/CN=clawstack-boot-mirrors"], dir);
    writeFileSync(join(dir, "server.ext"), SERVER_EXTENSIONS);
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650",
      "-out", "server.pem", "-extfile", "server.ext"], dir);
  }
  return { caCertPath, serverCertPath, serverKeyPath, caCert: readFileSync(caCertPath, "utf8") };
}

