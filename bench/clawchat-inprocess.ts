/**
 * `npx tsx bench/clawchat-inprocess.ts [source root ...]`: the CPU cost of one ClawChat round trip in the code
 * alone, without system calls or wakeups. Client and server run in this process, bundled as the host bundle is
 * (`clawchat/bundle-options.json`), with `node:dgram` replaced by an in-memory network that delivers each
 * datagram on a microtask. Given several source roots (e.g. an extracted older commit), it measures them
 * interleaved in one process, so machine load affects all alike. Not part of `npm run bench`: it patches
 * `node:dgram` for the whole process. `W=32` keeps 32 messages in flight; `ROUNDS` sets the rounds of 20,000.
 */
import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const bound = new Map<number, MemorySocket>();
let nextPort = 40_000;

/** The part of a dgram socket ClawChat uses, delivering on microtasks. */
class MemorySocket extends EventEmitter {
  port = 0;
  bind(...args: unknown[]): void {
    const callback = args.find((arg): arg is () => void => typeof arg === "function");
    const first = args[0];
    const port = typeof first === "object" && first !== null ? (first as { port?: number }).port : (first as number | undefined);
    this.port = port || nextPort++;
    bound.set(this.port, this);
    queueMicrotask(() => callback?.());
  }
  address(): { address: string; port: number; family: string } {
    return { address: "127.0.0.1", port: this.port, family: "IPv4" };
  }
  send(datagram: Buffer, port: number, _address: string, callback?: () => void): void {
    const target = bound.get(port);
    const from = this.port;
    if (target) queueMicrotask(() => target.emit("message", datagram, { address: "127.0.0.1", port: from, family: "IPv4", size: datagram.length }));
    if (callback) queueMicrotask(callback);
  }
  close(callback?: () => void): void {
    bound.delete(this.port);
    queueMicrotask(() => callback?.());
  }
}
(dgram as unknown as { createSocket: () => MemorySocket }).createSocket = () => new MemorySocket();

interface Chat {
  chat(text: string): Promise<string>;
  close(): Promise<void>;
}

async function setup(root: string, tag: string, work: string): Promise<{ client: Chat; server: { close(): Promise<void> } }> {
  const options = JSON.parse(readFileSync(join(root, "clawchat", "bundle-options.json"), "utf8")) as Record<string, unknown>;
  const load = async (entry: string): Promise<Record<string, unknown>> => {
    const outfile = join(work, `${tag}-${entry}.js`);
    await build({ ...options, banner: undefined, logLevel: "warning", entryPoints: [join(root, "clawchat", "src", `${entry}.ts`)], outfile });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle built just above
    return require(outfile) as Record<string, unknown>;
  };
  // Older trees keep the directory functions in security-file.ts.
  const files = { ...(await load("security-file")), ...(existsSync(join(root, "clawchat", "src", "security-dir.ts")) ? await load("security-dir") : {}) } as Record<string, (...args: never[]) => unknown>;
  const dir = join(work, `${tag}-security`);
  await fs.mkdir(dir, { mode: 0o700 });
  const key = (files.generateBootstrapKey as () => Buffer)();
  await (files.writeSecretFile as (d: string, n: string, t: string) => Promise<string>)(dir, "bootstrap.key", `${key.toString("base64")}\n`);
  const { content } = await (files.issueSecurityFile as (d: string, k: Buffer, o: object) => Promise<{ content: unknown }>)(dir, key, { serverIp: "127.0.0.1", port: 1, name: "bench", iterations: 100_000, nowMs: Date.now() });
  const { ClawChatServer } = (await load("server")) as { ClawChatServer: new (options: object) => { start(): Promise<void>; close(): Promise<void>; homePort: number } };
  const server = new ClawChatServer({ dir, port: 0, chatHandler: async (text: string) => text, statusFile: false, limits: { packets: { perSecond: 1e9, burst: 1e9 }, maxGatewayCallsPerSession: 1e6, maxGatewayCalls: 1e6 } });
  await server.start();
  const { ClawChatClient } = (await load("client")) as { ClawChatClient: { connect(content: unknown, options: object): Promise<Chat> } };
  const client = await ClawChatClient.connect(content, { server: { host: "127.0.0.1", port: server.homePort } });
  return { client, server };
}

async function main(): Promise<void> {
  const roots = process.argv.length > 2 ? process.argv.slice(2).map((root) => resolve(root)) : [resolve(__dirname, "..")];
  const work = await fs.mkdtemp(join(tmpdir(), "clawchat-inprocess-"));
  const inFlight = Number(process.env.W ?? 1);
  const payload = "x".repeat(1000);
  const run = async (client: Chat, count: number): Promise<void> => {
    let left = count;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (left-- > 0) await client.chat(payload);
    }));
  };
  try {
    const setups = [];
    for (const [index, root] of roots.entries()) setups.push(await setup(root, String(index), work));
    for (const { client } of setups) await run(client, 20_000); // warm-up
    const samples = setups.map(() => [] as number[]);
    for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++) {
      for (const [index, { client }] of setups.entries()) {
        const before = process.cpuUsage();
        await run(client, 20_000);
        const used = process.cpuUsage(before);
        samples[index]?.push((used.user + used.system) / 20_000);
      }
    }
    for (const [index, root] of roots.entries()) {
      const sorted = [...(samples[index] ?? [])].sort((a, b) => a - b);
      console.log(`${root}: ${(sorted[Math.floor(sorted.length / 2)] ?? NaN).toFixed(1)} µs CPU per round trip in process (median; min ${(sorted[0] ?? NaN).toFixed(1)}; ${inFlight} in flight)`);
    }
    for (const { client, server } of setups) {
      await client.close();
      await server.close();
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
