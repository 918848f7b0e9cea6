/**
 * The default chat handler: relays a ClawChat message to the OpenClaw gateway
 * on loopback through its OpenAI-compatible `POST /v1/chat/completions`
 * (which OpenClaw serves once `gateway.http.endpoints.chatCompletions.enabled`
 * is true), authenticated with the gateway token from the host's
 * `openclaw.json` (`gateway.auth.token`) or `OPENCLAW_GATEWAY_TOKEN`.
 */
import { promises as fs } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./errors";

export interface ChatContext {
  /** The session's connection ID (16 hex digits); also the OpenAI `user`, so the gateway keeps one conversation per session. */
  readonly connectionId: string;
  readonly address: string;
}

export type ChatHandler = (text: string, context: ChatContext) => Promise<string>;

export interface GatewayOptions {
  /** Defaults to `OPENCLAW_CONFIG_PATH`, else `~/.openclaw/openclaw.json`. */
  configPath?: string;
  /** Defaults to `http://127.0.0.1:<gateway.port from the config, else 18789>`. Must be loopback. */
  url?: string;
  /** Defaults to `openclaw:main`. */
  model?: string;
  /** Defaults to 120 s. */
  timeoutMs?: number;
}

export function defaultOpenClawConfigPath(): string {
  return process.env.OPENCLAW_CONFIG_PATH ?? join(homedir(), ".openclaw", "openclaw.json");
}

/**
 * Reads `openclaw.json` (JSON5 as OpenClaw writes it: plain JSON, or with
 * comments, trailing commas and bare keys) and returns the gateway port and token.
 */
export async function readGatewaySettings(configPath: string): Promise<{ port: number; token: string | undefined }> {
  let text: string;
  try {
    text = await fs.readFile(configPath, "utf8");
  } catch {
    return { port: 18789, token: process.env.OPENCLAW_GATEWAY_TOKEN };
  }
  const config = parseLenientJson(text, configPath) as { gateway?: { port?: unknown; auth?: { token?: unknown } } };
  const port = typeof config.gateway?.port === "number" ? config.gateway.port : 18789;
  const token = process.env.OPENCLAW_GATEWAY_TOKEN ?? (typeof config.gateway?.auth?.token === "string" ? config.gateway.auth.token : undefined);
  return { port, token };
}

function parseLenientJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON5 as people write it by hand: strip comments outside strings, trailing commas, quote bare keys.
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === '"' || ch === "'") {
        let j = i + 1;
        while (j < text.length && text[j] !== ch) j += text[j] === "\\" ? 2 : 1;
        const body = text.slice(i + 1, j);
        out += ch === '"' ? `"${body}"` : JSON.stringify(body.replace(/\\'/g, "'"));
        i = j;
      } else if (ch === "/" && text[i + 1] === "/") {
        while (i < text.length && text[i] !== "\n") i++;
        out += "\n";
      } else if (ch === "/" && text[i + 1] === "*") {
        i = text.indexOf("*/", i + 2);
        if (i < 0) break;
        i += 1;
      } else out += ch;
    }
    out = out.replace(/,(\s*[}\]])/g, "$1").replace(/([{,]\s*)([A-Za-z_$][\w$]*)(\s*:)/g, '$1"$2"$3');
    try {
      return JSON.parse(out);
    } catch {
      throw new ConfigError("openclaw-config", `\`--openclaw-config\` ${source} is neither JSON nor the JSON5 subset ClawChat reads; set OPENCLAW_GATEWAY_TOKEN instead`);
    }
  }
}

function isLoopbackUrl(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "[::1]" || url.hostname === "localhost";
}

/** Builds the relay. The token is read per request (OpenClaw hot-reloads and may rotate it) and never logged. */
export function gatewayChatHandler(options: GatewayOptions = {}): ChatHandler {
  const configPath = options.configPath ?? defaultOpenClawConfigPath();
  const model = options.model ?? "openclaw:main";
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new ConfigError("gateway-url", `\`--gateway-url\` must be an http URL on loopback; got ${JSON.stringify(options.url)}`);
    }
    if (parsed.protocol !== "http:" || !isLoopbackUrl(parsed)) {
      throw new ConfigError("gateway-url", `\`--gateway-url\` must be http://127.0.0.1:<port> or http://[::1]:<port> (the gateway token must not leave the host); got ${JSON.stringify(options.url)}`);
    }
  }
  return async (text, context) => {
    const settings = await readGatewaySettings(configPath);
    const base = options.url ?? `http://127.0.0.1:${settings.port}`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (settings.token) headers.authorization = `Bearer ${settings.token}`;
    const response = await fetch(new URL("/v1/chat/completions", base), {
      method: "POST",
      headers,
      body: JSON.stringify({ model, user: `clawchat:${context.connectionId}`, messages: [{ role: "user", content: text }] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`gateway answered HTTP ${response.status}`);
    const body = (await response.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
    const answer = body.choices?.[0]?.message?.content;
    if (typeof answer !== "string") throw new Error("gateway answer has no choices[0].message.content");
    return answer;
  };
}
