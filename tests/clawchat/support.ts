/**
 * Shared set-up for the ClawChat suites: a security directory in a temporary
 * folder, a server on loopback with a driven clock, and a raw UDP peer that
 * speaks the protocol through the library's primitives so tests can replay,
 * tamper with and truncate real packets.
 */
import { createSocket, type Socket } from "node:dgram";
import { promises as fs } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EpochKeys, openPacket, sealHandshake } from "../../clawchat/src/channel";
import { ManualClock } from "../../clawchat/src/clock";
import { connectionIdOf, deriveHandshakeKey, deriveSessionKeys, Direction, generateEphemeralKey, x25519 } from "../../clawchat/src/keys";
import { MemoryLogger } from "../../clawchat/src/log";
import { decodeWelcome } from "../../clawchat/src/control-messages";
import { issueSecurityFile, writeSecretFile } from "../../clawchat/src/security-dir";
import { BOOTSTRAP_KEY_FILE, generateBootstrapKey, type SecurityFileContent } from "../../clawchat/src/security-file";
import { ClawChatServer, type ServerOptions } from "../../clawchat/src/server";
import { MessageType, parsePacket, type MessageType as MessageTypeValue } from "../../clawchat/src/wire";

/** Tests use the minimum iteration count the reader accepts, to stay fast on a shared machine. */
export const TEST_ITERATIONS = 100_000;

export interface SecurityDir {
  root: string;
  dir: string;
  keyPath: string;
  filePath: string;
  bootstrapKey: Buffer;
  content: SecurityFileContent;
}

export async function makeSecurityDir(nowMs: number, validitySeconds = 7 * 86_400): Promise<SecurityDir> {
  const root = await fs.mkdtemp(join(tmpdir(), "clawchat-test-"));
  const dir = join(root, "security");
  await fs.mkdir(dir, { mode: 0o700 });
  const bootstrapKey = generateBootstrapKey();
  const keyPath = await writeSecretFile(dir, BOOTSTRAP_KEY_FILE, `${bootstrapKey.toString("base64")}\n`);
  const { path, content } = await issueSecurityFile(dir, bootstrapKey, {
    serverIp: "127.0.0.1",
    port: 1,
    name: "Test server",
    validitySeconds,
    iterations: TEST_ITERATIONS,
    nowMs,
  });
  return { root, dir, keyPath, filePath: path, bootstrapKey, content };
}

export interface TestServer {
  server: ClawChatServer;
  clock: ManualClock;
  logger: MemoryLogger;
  security: SecurityDir;
  target: { host: string; port: number };
  stop(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}, clock = new ManualClock()): Promise<TestServer> {
  const security = await makeSecurityDir(clock.now());
  const logger = new MemoryLogger();
  const server = new ClawChatServer({
    dir: security.dir,
    port: 0,
    clock,
    logger,
    iterations: TEST_ITERATIONS,
    chatHandler: async (text) => `echo: ${text}`,
    ...options,
  });
  await server.start();
  return {
    server,
    clock,
    logger,
    security,
    target: { host: "127.0.0.1", port: server.homePort },
    stop: async () => {
      await server.close();
      await fs.rm(security.root, { recursive: true, force: true });
    },
  };
}

/** A stand-in OpenClaw gateway on loopback: answers `/v1/chat/completions` and records what it was sent. */
export async function startStandInGateway(token: string): Promise<{ url: string; requests: Array<{ authorization?: string; body: { model: string; user: string; messages: Array<{ role: string; content: string }> } }>; close(): Promise<void> }> {
  const requests: Array<{ authorization?: string; body: { model: string; user: string; messages: Array<{ role: string; content: string }> } }> = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      const parsed = JSON.parse(body) as { model: string; user: string; messages: Array<{ role: string; content: string }> };
      requests.push({ authorization: request.headers.authorization, body: parsed });
      if (request.url !== "/v1/chat/completions" || request.headers.authorization !== `Bearer ${token}`) {
        response.statusCode = 401;
        return response.end("{}");
      }
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: `assistant heard: ${parsed.messages.at(-1)?.content ?? ""}` } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Every datagram a socket receives, from the moment of the call. */
export function collect(socket: Socket): Buffer[] {
  const received: Buffer[] = [];
  socket.on("message", (datagram) => received.push(datagram));
  return received;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (real time) until `condition` holds, up to `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

/** A UDP socket on loopback; any 127.x.y.z works on Linux, so tests can play many source addresses. */
export async function openSocket(address = "127.0.0.1"): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

export function sendTo(socket: Socket, datagram: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(datagram, port, "127.0.0.1", (error) => (error ? reject(error) : resolve())));
}

/** A protocol peer built from the library's primitives, for packet-level tests. */
export interface RawPeer {
  socket: Socket;
  sessionId: Buffer;
  keys: EpochKeys;
  dataPort: number;
  received: Buffer[];
  seal(type: MessageTypeValue, plaintext: Buffer): Buffer;
  /** Opens a datagram from the server under the session keys (undefined if it does not verify). */
  open(datagram: Buffer): { type: number; plaintext: Buffer } | undefined;
  close(): Promise<void>;
}

/** Runs the handshake from `address`; `welcomeTimeoutMs` is shortened by tests that expect no WELCOME at all. */
export async function rawPeer(
  test: TestServer,
  sharedSecret = Buffer.from(test.security.content.shared_secret, "base64"),
  address = "127.0.0.1",
  welcomeTimeoutMs = 3_000,
): Promise<RawPeer> {
  const socket = await openSocket(address);
  const received = collect(socket);
  const handshakeKey = deriveHandshakeKey(sharedSecret);
  const ephemeral = generateEphemeralKey();
  const messageId = randomBytes(16);
  const helloTime = test.clock.now();
  await sendTo(socket, sealHandshake(handshakeKey, messageId, helloTime, MessageType.hello, ephemeral.publicKey), test.target.port);
  await waitFor(() => received.length > 0, welcomeTimeoutMs);
  const packet = parsePacket(received.shift() as Buffer);
  if (typeof packet === "string") throw new Error(`bad WELCOME: ${packet}`);
  const welcome = decodeWelcome(openPacket(handshakeKey, packet) as Buffer);
  if (!welcome || welcome.status !== 0) throw new Error("session refused");
  const sessionId = Buffer.from(welcome.sessionId);
  const dh = x25519(ephemeral, welcome.publicKey) as Buffer;
  const keys = new EpochKeys(
    0,
    deriveSessionKeys({ sharedSecret, seed: sharedSecret, dh, connectionId: connectionIdOf(sessionId), timestampMs: helloTime }),
    Direction.clientToServer,
  );
  return {
    socket,
    sessionId,
    keys,
    dataPort: welcome.dataPort,
    received,
    seal: (type, plaintext) => keys.seal(sessionId, test.clock.now(), type, plaintext),
    open: (datagram) => {
      const parsed = parsePacket(datagram);
      if (typeof parsed === "string") return undefined;
      const plaintext = keys.open(parsed);
      return typeof plaintext === "string" ? undefined : { type: parsed.type, plaintext };
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
