/**
 * Gateway token rotation carried out on the host (issue 20 item 4). The
 * user or an operator asks the API (`POST .../gateway-token/rotate-on-host`);
 * the agent's next poll carries `gatewayTokenRotation`, and the agent:
 *
 *   1. makes a new token (32 random bytes, hex) and writes it to the gateway's
 *      environment file (atomically, same owner and mode 0600);
 *   2. restarts the gateway and waits until it answers `/readyz` on loopback;
 *   3. sends the token and the pinned certificate's SHA-256 to
 *      `POST .../gateway-token` with its host credential; the API swaps its
 *      sealed copy and clears the request.
 *
 * A send that fails is retried with the same token at the next poll (the
 * state file remembers which request was carried out), so a flaky network
 * never causes a second restart. Only a host that makes its own token
 * (`TOKEN_SOURCE=generate`) rotates here; a token read from AWS SSM or GCP
 * Secret Manager is changed in that store by a stack update instead, and the
 * agent says so once. The token is never logged.
 */
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import type { AgentConfig } from "./config.js";

export interface RotationDeps {
  now: () => number;
  fetch: typeof fetch;
  run: (argv: string[]) => Promise<{ code: number; stderr: string }>;
  log: (event: string, fields?: Record<string, unknown>) => void;
  /** The host-authenticated call to the API (the agent's own). */
  api: (method: string, path: string, body?: unknown) => Promise<Response | undefined>;
  /** Reads and writes the agent's small state files (root 0700 folder). */
  readState: <T>(name: string) => T | undefined;
  writeState: (name: string, value: unknown) => void;
}

interface RotationState {
  /** The request this host already carried out (its token is the one in the env file). */
  requestedAt: string;
  sent: boolean;
}

const STATE_FILE = "gateway-rotation.json";
const READY_TIMEOUT_MS = 180_000;

/** The rotation request in a poll answer, or undefined. */
export function rotationRequest(body: unknown): string | undefined {
  const rotation = (body as { gatewayTokenRotation?: unknown } | null)?.gatewayTokenRotation;
  if (typeof rotation !== "object" || rotation === null) return undefined;
  const requestedAt = (rotation as { requestedAt?: unknown }).requestedAt;
  return typeof requestedAt === "string" && !Number.isNaN(Date.parse(requestedAt)) ? requestedAt : undefined;
}

export class GatewayRotation {
  private unsupportedLogged = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: RotationDeps,
  ) {}

  /** Carries out (or finishes sending) the rotation `requestedAt` names. Never throws. */
  async handle(requestedAt: string): Promise<void> {
    try {
      if (!this.makesOwnToken()) {
        if (!this.unsupportedLogged) this.deps.log("gateway_rotation_unsupported", { why: "the gateway token comes from the cloud's secret store: rotate it there with a stack update" });
        this.unsupportedLogged = true;
        return;
      }
      const state = this.deps.readState<RotationState>(STATE_FILE);
      if (state?.requestedAt === requestedAt && state.sent) return;
      if (state?.requestedAt !== requestedAt) {
        await this.switchToken();
        this.deps.writeState(STATE_FILE, { requestedAt, sent: false } satisfies RotationState);
        this.deps.log("gateway_token_switched", { requestedAt });
      }
      await this.send(requestedAt);
    } catch (error) {
      this.deps.log("gateway_rotation_failed", { requestedAt, error: (error as Error).message });
    }
  }

  private makesOwnToken(): boolean {
    try {
      const conf = readFileSync(this.config.paths.hostConf, "utf8");
      const source = /^TOKEN_SOURCE=["']?([a-z-]+)["']?\s*$/m.exec(conf)?.[1];
      return source === "generate";
    } catch {
      return false;
    }
  }

  private async switchToken(): Promise<void> {
    const path = this.config.paths.gatewayEnv;
    const token = randomBytes(32).toString("hex");
    const previous = existsSync(path) ? readFileSync(path, "utf8") : "";
    const lines = previous.split("\n").filter((line) => line !== "" && !line.startsWith("OPENCLAW_GATEWAY_TOKEN="));
    const owner = existsSync(path) ? statSync(path) : undefined;
    const temporary = `${path}.rotating`;
    writeFileSync(temporary, [...lines, `OPENCLAW_GATEWAY_TOKEN=${token}`, ""].join("\n"), { mode: 0o600 });
    if (owner) chownSync(temporary, owner.uid, owner.gid);
    renameSync(temporary, path);
    const restarted = await this.deps.run(this.config.commands.restartGateway);
    if (restarted.code !== 0) throw new Error(`restarting the gateway failed (${restarted.code}): ${restarted.stderr.slice(0, 200)}`);
    await this.waitReady();
  }

  private async waitReady(): Promise<void> {
    const deadline = this.deps.now() + READY_TIMEOUT_MS;
    for (;;) {
      const ready = await this.deps
        .fetch(this.config.gatewayReadyUrl, { signal: AbortSignal.timeout(5_000), redirect: "error" })
        .then((answer) => answer.ok, () => false);
      if (ready) return;
      if (this.deps.now() > deadline) throw new Error(`the gateway did not answer ${this.config.gatewayReadyUrl} within ${READY_TIMEOUT_MS / 1000} s after its restart`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private async send(requestedAt: string): Promise<void> {
    const token = /^OPENCLAW_GATEWAY_TOKEN=(\S+)$/m.exec(readFileSync(this.config.paths.gatewayEnv, "utf8"))?.[1];
    const fingerprint = readFileSync(this.config.paths.gatewayFingerprint, "utf8").replace(/[:\s]/g, "").toLowerCase();
    if (!token || !/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error("no gateway token or certificate fingerprint on this host to send");
    const answer = await this.deps.api("POST", "/gateway-token", { gatewayToken: token, tlsCertSha256: fingerprint });
    if (!answer) return; // unreachable: the next poll sends it again
    if (answer.status !== 204) {
      this.deps.log("gateway_rotation_refused", { status: answer.status });
      return;
    }
    this.deps.writeState(STATE_FILE, { requestedAt, sent: true } satisfies RotationState);
    this.deps.log("gateway_token_rotated", { requestedAt });
  }
}
