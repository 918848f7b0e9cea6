/**
 * One more TLS front of the local host, in a process of its own, for the
 * idle-connection stage of `npm run bench -- proxy`: the same front as
 * api/demo/local-host.ts (a plain TLS terminator before the gateway's loopback
 * port), so that each shard of idle connections has its descriptors in
 * processes that fit under the machine's open-file limit. Reads the
 * certificate and key from the files named in its environment (the key file
 * is the benchmark's throwaway, mode 600), prints one JSON line `{port}`, and
 * serves until SIGTERM.
 */
import { readFileSync } from "node:fs";
import { startTlsFront } from "../api/demo/local-host";

const gatewayPort = Number(process.env.BENCH_FRONT_GATEWAY_PORT);
const certificate = { key: readFileSync(process.env.BENCH_FRONT_KEY_PATH!), cert: readFileSync(process.env.BENCH_FRONT_CERT_PATH!) };
const front = startTlsFront({ gatewayPort, expose: { value: false }, forwardedFor: undefined, certificate });
front.listen(0, "127.0.0.1", () => {
  const address = front.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`);
});
process.on("SIGTERM", () => {
  front.closeAllConnections();
  front.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
