import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { HOST_FROM_GUEST } from "../paths.js";
import type { Started } from "./process.js";

/**
 * An OpenAI-compatible model provider on the host side (`/v1/models`,
 * `/v1/chat/completions`, streaming or not). It answers every chat with one
 * phrase made per run, so an answer that carries the phrase can only have come
 * from here through the gateway. It counts requests and never keeps content.
 */
export interface ModelStandIn extends Started {
  port: number;
  /** Base URL as the guest sees it. */
  guestBaseUrl: string;
  modelId: string;
  /** The phrase every answer carries. */
  answer: string;
  chatRequests(): number;
}

export const STANDIN_MODEL_ID = "boot-standin";

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

export async function startModelStandIn(): Promise<ModelStandIn> {
  const answer = `boot-check-${randomBytes(6).toString("hex")}`;
  let chats = 0;
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://standin");
    if (request.method === "GET" && url.pathname.endsWith("/models")) {
      json(response, 200, { object: "list", data: [{ id: STANDIN_MODEL_ID, object: "model", created: 0, owned_by: "clawstack-boot" }] });
      return;
    }
    if (request.method === "POST" && url.pathname.endsWith("/chat/completions")) {
      let stream = false;
      try {
        stream = (JSON.parse(await readBody(request)) as { stream?: boolean }).stream === true;
      } catch {
        json(response, 400, { error: { message: "body is not JSON" } });
        return;
      }
      chats += 1;
      const id = `chatcmpl-${randomBytes(4).toString("hex")}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
      if (!stream) {
        json(response, 200, {
          id, object: "chat.completion", created, model: STANDIN_MODEL_ID,
          choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }], usage,
        });
        return;
      }
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: STANDIN_MODEL_ID, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
      response.write(chunk({ role: "assistant", content: "" }, null));
      response.write(chunk({ content: answer }, null));
      response.write(chunk({}, "stop", { usage }));
      response.end("data: [DONE]\n\n");
      return;
    }
    json(response, 404, { error: { message: "not found" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    name: "model stand-in",
    port,
    guestBaseUrl: `http://${HOST_FROM_GUEST}:${port}/v1`,
    modelId: STANDIN_MODEL_ID,
    answer,
    chatRequests: () => chats,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
