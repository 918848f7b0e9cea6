/**
 * The server side of `bench/clawchat.bench.ts`, run in its own process so the
 * client and the server do not share one event loop (as on a real host):
 * `node <bundle of this file> echo` (a plain UDP echo) or
 * `... clawchat <security dir>` (a ClawChat server whose chat handler echoes).
 * Prints `{"port": <n>}` once listening (ClawChat adds `aead`, the AES-GCM backend); stops on SIGTERM.
 */
import { createSocket } from "node:dgram";
import { aeadBackend } from "../clawchat/src/aead";
import { ClawChatServer } from "../clawchat/src/server";

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  if (mode === "echo") {
    const server = createSocket("udp4");
    server.on("message", (datagram, remote) => server.send(datagram, remote.port, remote.address));
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    console.log(JSON.stringify({ port: server.address().port }));
    process.once("SIGTERM", () => server.close(() => process.exit(0)));
    return;
  }
  if (mode === "clawchat" && dir) {
    // Every benchmark packet comes from 127.0.0.1, so the per-address packet limit is raised.
    // Files are accepted (and discarded) so the benchmark can time a 1 MiB transfer.
    const server = new ClawChatServer({ dir, port: 0, chatHandler: async (text) => text, fileHandler: async () => true, statusFile: false, limits: { packets: { perSecond: 1e9, burst: 1e9 } } });
    await server.start();
    console.log(JSON.stringify({ port: server.homePort, aead: aeadBackend() }));
    process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
    return;
  }
  throw new Error("usage: clawchat-server.ts echo | clawchat <security dir>");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
