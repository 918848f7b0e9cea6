/**
 * `clawstack-support agent [--config <agent.json>]`: the host agent (root, systemd).
 * `clawstack-support shell [--config <agent.json>] [<grantId>]`: the forced command
 * (the support user; started by the support-shell launcher with an empty environment
 * but for SSH_ORIGINAL_COMMAND and SSH_USER_AUTH).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runCommand, SupportAgent } from "./agent.js";
import { AGENT_CONFIG_PATH, readPinnedKeys, resolveAgentConfig } from "./config.js";
import { runShell } from "./shell.js";
import { GRANT_ID_PATTERN } from "./sshd.js";

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ event, ...fields })}\n`);
}

async function agent(configPath: string): Promise<void> {
  const config = resolveAgentConfig(JSON.parse(readFileSync(configPath, "utf8")));
  const pinned = await readPinnedKeys(config.paths.userKeys);
  const instance = new SupportAgent(config, pinned, { now: Date.now, fetch: globalThis.fetch, run: runCommand, log });
  await instance.start();
  log("agent_started", { instanceId: pinned.instanceId, pinnedKeys: pinned.keys.length, pollSeconds: config.pollSeconds });
  const stop = () => void instance.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function shell(configPath: string, grantId: string | undefined): Promise<number> {
  let socket: string;
  let commandsPath: string;
  try {
    const config = resolveAgentConfig(JSON.parse(readFileSync(configPath, "utf8")));
    socket = config.paths.socket;
    commandsPath = config.paths.commands;
  } catch {
    process.stderr.write("clawstack support: the support configuration is unreadable\n");
    return 1;
  }
  return runShell({
    socket,
    commandsPath,
    command: process.env.SSH_ORIGINAL_COMMAND,
    userAuthFile: process.env.SSH_USER_AUTH || undefined,
    grantId: grantId !== undefined && GRANT_ID_PATTERN.test(grantId) ? grantId : null,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { config: { type: "string" } }, allowPositionals: true, strict: true });
  const configPath = values.config ?? AGENT_CONFIG_PATH;
  const [mode, argument] = positionals;
  if (mode === "agent") {
    await agent(configPath);
    return -1;
  }
  if (mode === "shell") return shell(configPath, argument);
  process.stderr.write("usage: clawstack-support agent|shell [--config <agent.json>] [<grantId>]\n");
  return 2;
}

main().then(
  (code) => {
    if (code >= 0) process.stdout.write("", () => process.exit(code));
  },
  (error: unknown) => {
    log("fatal", { error: (error as Error).message });
    process.exit(1);
  },
);
