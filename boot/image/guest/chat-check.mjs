// Test-only (boot test image): a loopback client of the real gateway, as a
// relay on the host (ClawChat) is. Reads the gateway token from the host's own
// file, points the gateway at the host-side model stand-in (config.patch, what
// an owner does in the Control UI), sends one chat and prints the SHA-256 of the
// answer, never the token or the text.
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

const [baseUrl, modelId] = process.argv.slice(2);
const env = readFileSync("/var/lib/openclaw/state/.env", "utf8");
const token = /^OPENCLAW_GATEWAY_TOKEN=(.*)$/m.exec(env)?.[1]?.trim();
if (!token) throw new Error("no gateway token on this host");

const socket = new WebSocket("ws://127.0.0.1:18789");
const pending = new Map();
let nextId = 0;
const request = (method, params) => new Promise((resolve, reject) => {
  const id = String(++nextId);
  pending.set(id, { resolve, reject });
  socket.send(JSON.stringify({ type: "req", id, method, params }));
});
let onChat = () => {};
let answered = false;
// Under software emulation a gateway turn takes minutes (a native one takes seconds).
const timer = setTimeout(() => { console.log("chat-result timeout"); process.exit(1); }, 480_000);
socket.onmessage = async (message) => {
  const frame = JSON.parse(String(message.data));
  if (frame.type === "res") {
    const entry = pending.get(frame.id);
    pending.delete(frame.id);
    if (frame.ok) entry?.resolve(frame.payload); else entry?.reject(new Error(`${frame.error?.code}: ${frame.error?.message}`));
  } else if (frame.event === "connect.challenge") {
    try {
      await request("connect", {
        minProtocol: 3, maxProtocol: 4, role: "operator", caps: [], auth: { token },
        client: { id: "cli", version: "clawstack-boot", platform: "linux", mode: "cli" },
        scopes: ["operator.read", "operator.write", "operator.admin"],
      });
      console.log("handshake hello-ok");
      const current = await request("config.get", {});
      const [provider, model] = modelId.split("/");
      await request("config.patch", { baseHash: current.hash, raw: JSON.stringify({
        models: { mode: "merge", providers: { [provider]: { baseUrl, apiKey: "boot-standin", api: "openai-completions",
          models: [{ id: model, name: "Boot stand-in", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 32768, maxTokens: 1024 }] } } },
        agents: { defaults: { model: { primary: modelId } } },
      }) });
      console.log("config patched");
      const started = Date.now();
      onChat = (payload) => {
        if (payload.state !== "final" && payload.state !== "error") return;
        const text = (payload.message?.content ?? []).map((part) => part.text ?? "").join("");
        console.log(`chat-result ${payload.state} sha256=${createHash("sha256").update(text).digest("hex")} ms=${Date.now() - started}`);
        clearTimeout(timer);
        answered = true;
        socket.close();
      };
      await request("chat.send", { sessionKey: "main", message: "Answer with the check phrase.", idempotencyKey: randomUUID() });
    } catch (error) {
      console.log(`chat-error ${error.message}`);
      process.exit(1);
    }
  } else if (frame.event === "chat") {
    onChat(frame.payload);
  }
};
socket.onerror = () => { console.log("chat-error socket"); process.exit(1); };
socket.onclose = (event) => {
  if (answered) process.exit(0);
  console.log(`chat-error the gateway closed the connection (${event.code})`);
  process.exit(1);
};
