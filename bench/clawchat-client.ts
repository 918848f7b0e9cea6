/**
 * The client side of `bench/clawchat.bench.ts`, run in its own process on the
 * same Node as the servers (`bench/clawchat-server.ts`), so both sides of both
 * channels run on the Node the hosts run:
 *
 *   node <bundle of this file> echo <port> <server pid>
 *   node <bundle of this file> clawchat <security file content (JSON file)> <port> <server pid>
 *   node <bundle of this file> cipher
 *
 * The first two time round trips (warm-up, sequential, `WINDOW` in flight, open loop at
 * `OPEN_LOOP_RATE`/s) and print one JSON line of `ClientReport`; the server's CPU time is read from
 * /proc around each measurement. `cipher` prints the CPU µs to seal and open one 1,000-byte packet.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { aeadBackend, sealWithNodeCrypto, openWithNodeCrypto, type AeadBackendInfo } from "../clawchat/src/aead";
import { EpochKeys } from "../clawchat/src/channel";
import { ClawChatClient } from "../clawchat/src/client";
import { Direction } from "../clawchat/src/keys";
import type { SecurityFileContent } from "../clawchat/src/security-file";
import { MessageType, parsePacket, type PacketView } from "../clawchat/src/wire";

export const PAYLOAD_BYTES = 1000;
export const WINDOW = 32;
export const OPEN_LOOP_RATE = 1_000;
const DURATION_MS = Number(process.env.CLAWCHAT_BENCH_MS ?? 3_000);

export interface Throughput {
  perSecond: number;
  mbPerSecond: number;
  /** CPU time of client and server together per round trip, in µs: comparable even on a loaded machine. */
  cpuMicrosPerRoundTrip?: number;
}

export interface ClientReport {
  node: string;
  /** The client's AES-GCM backend (ClawChat only). */
  aead?: AeadBackendInfo;
  sequential: Throughput;
  windowed: Throughput;
  latency: { p50: number; p99: number; max: number; sent: number };
}

interface Channel {
  name: string;
  roundTrip(payload: string): Promise<string>;
  close(): Promise<void>;
}

async function plainEcho(port: number): Promise<Channel> {
  const client: Socket = createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  // Requests carry an 8-byte sequence number so concurrent round trips match their answers.
  const waiting = new Map<number, (text: string) => void>();
  client.on("message", (datagram) => {
    const id = datagram.readUInt32BE(0) * 0x1_0000_0000 + datagram.readUInt32BE(4);
    const resolve = waiting.get(id);
    waiting.delete(id);
    resolve?.(datagram.toString("utf8", 8));
  });
  let next = 0;
  return {
    name: "plain UDP echo",
    roundTrip: (payload) =>
      new Promise((resolve) => {
        const id = next++;
        const datagram = Buffer.alloc(8 + Buffer.byteLength(payload));
        datagram.writeUInt32BE(Math.floor(id / 0x1_0000_0000), 0);
        datagram.writeUInt32BE(id % 0x1_0000_0000, 4);
        datagram.write(payload, 8, "utf8");
        waiting.set(id, resolve);
        client.send(datagram, port, "127.0.0.1");
      }),
    close: () => new Promise<void>((resolve) => client.close(() => resolve())),
  };
}

async function clawChat(contentFile: string, port: number): Promise<Channel> {
  const content = JSON.parse(readFileSync(contentFile, "utf8")) as SecurityFileContent;
  const client = await ClawChatClient.connect(content, { server: { host: "127.0.0.1", port } });
  return { name: "ClawChat (AES-256-GCM)", roundTrip: (payload) => client.chat(payload), close: () => client.close() };
}

/** CPU seconds (user + system) of another process, from /proc (Linux); undefined elsewhere. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

async function throughput(channel: Channel, serverPid: number, inFlight: number, payload: string): Promise<Throughput> {
  const ownBefore = process.cpuUsage();
  const serverBefore = processCpuSeconds(serverPid);
  let done = 0;
  const deadline = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const answer = await channel.roundTrip(payload);
        if (answer.length !== payload.length) throw new Error(`${channel.name}: wrong answer length`);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const serverAfter = processCpuSeconds(serverPid);
  const cpuSeconds = serverBefore !== undefined && serverAfter !== undefined ? (own.user + own.system) / 1e6 + serverAfter - serverBefore : undefined;
  return {
    perSecond: done / seconds,
    mbPerSecond: (done * Buffer.byteLength(payload)) / seconds / 1e6,
    cpuMicrosPerRoundTrip: cpuSeconds === undefined ? undefined : (cpuSeconds / done) * 1e6,
  };
}

async function openLoopLatency(channel: Channel, payload: string): Promise<ClientReport["latency"]> {
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  const total = Math.round((DURATION_MS / 1000) * OPEN_LOOP_RATE);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    // Sends on schedule (1 ms apart), never waiting for answers: a slow answer cannot slow the offered load.
    const due = start + (i * 1000) / OPEN_LOOP_RATE;
    while (performance.now() < due) await new Promise((resolve) => setImmediate(resolve));
    const sentAt = performance.now();
    pending.push(channel.roundTrip(payload).then(() => void latencies.push(performance.now() - sentAt)));
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) as number, sent: total };
}

/**
 * The floor the protocol's cipher sets: CPU µs to seal and to open one session packet of a 1,012-byte
 * chat part through `EpochKeys` on ClawChat's backend (the addon's reused OpenSSL context when it
 * loaded), then the same packets through node:crypto with a context per packet. A round trip does
 * each twice.
 */
function cryptoPerPacket(): CipherCost {
  const keys = { encryptionKey: randomBytes(32), macKey: randomBytes(32), ivKey: randomBytes(32), nextKeySeed: randomBytes(32) };
  const sender = new EpochKeys(0, keys, Direction.clientToServer);
  const receiver = new EpochKeys(0, keys, Direction.serverToClient);
  const sessionId = randomBytes(8);
  const plaintext = randomBytes(12 + PAYLOAD_BYTES);
  const rounds = 20_000;
  const packets: PacketView[] = [];
  let started = process.cpuUsage();
  for (let i = 0; i < rounds; i++) packets.push(parsePacket(sender.seal(sessionId, Date.now(), MessageType.chat, plaintext)) as PacketView);
  const seal = process.cpuUsage(started);
  started = process.cpuUsage();
  for (const packet of packets) if (typeof receiver.open(packet) === "string") throw new Error("bench packet did not open");
  const open = process.cpuUsage(started);
  // The same packets through node:crypto (a context per packet), for comparison in the same run.
  const key = keys.encryptionKey;
  started = process.cpuUsage();
  for (const packet of packets) sealWithNodeCrypto(key, packet.datagram, plaintext);
  const nodeSeal = process.cpuUsage(started);
  started = process.cpuUsage();
  for (const packet of packets) if (!openWithNodeCrypto(key, packet)) throw new Error("bench packet did not open with node:crypto");
  const nodeOpen = process.cpuUsage(started);
  const micros = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / rounds;
  return { backend: aeadBackend(), seal: micros(seal), open: micros(open), nodeCrypto: { seal: micros(nodeSeal), open: micros(nodeOpen) } };
}

/** CPU µs per 1,000-byte packet: the backend ClawChat uses, and node:crypto with a context per packet. */
export interface CipherCost {
  backend: AeadBackendInfo;
  seal: number;
  open: number;
  nodeCrypto: { seal: number; open: number };
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "cipher") {
    cryptoPerPacket(); // warm-up
    console.log(JSON.stringify({ node: process.version, ...cryptoPerPacket() }));
    return;
  }
  let channel: Channel;
  let serverPid: number;
  let aead: AeadBackendInfo | undefined;
  if (mode === "echo" && args.length === 2) {
    channel = await plainEcho(Number(args[0]));
    serverPid = Number(args[1]);
  } else if (mode === "clawchat" && args.length === 3) {
    channel = await clawChat(args[0] as string, Number(args[1]));
    aead = aeadBackend();
    serverPid = Number(args[2]);
  } else {
    throw new Error("usage: clawchat-client.ts echo <port> <server pid> | clawchat <content file> <port> <server pid> | cipher");
  }
  const payload = "x".repeat(PAYLOAD_BYTES);
  await throughput(channel, serverPid, 1, payload); // warm-up (JIT, socket buffers)
  const sequential = await throughput(channel, serverPid, 1, payload);
  const windowed = await throughput(channel, serverPid, WINDOW, payload);
  const latency = await openLoopLatency(channel, payload);
  await channel.close();
  const report: ClientReport = { node: process.version, ...(aead ? { aead } : {}), sequential, windowed, latency };
  console.log(JSON.stringify(report));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
