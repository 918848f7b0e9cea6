/**
 * Gateway setup windows on the host (issue 16 "first use without a shell",
 * docs/zero-access.md "Gateway setup"). OpenClaw lets only `operator.admin`
 * set a model provider and its key, and the host approves Claw Cloud's chat
 * proxy device for the chat scopes only. A user who wants to set the model
 * from the dashboard signs a setup grant (core/zero-access/gateway-admin-grant.ts);
 * the API lists it in the poll (`gatewayAdmin`), and this agent, after
 * verifying it against the pinned keys itself:
 *
 *   while one verifies   runs `proxyAdminOpen` each poll: the gateway's own CLI approves the pinned proxy
 *                        device's pending scope upgrade (chat scopes + operator.admin, nothing else);
 *   when none does        (ended, revoked, no longer listed, or past its end with the API unreachable) runs
 *                        `proxyAdminClose` once: pending admin requests rejected, the device removed (its
 *                        connections closed), then `proxyDeviceTimer` so the chat scopes are approved again
 *                        when the proxy reconnects.
 *
 * A grant's nonce is spent when its window closes, so a grant the API lists
 * again after the user revoked it never reopens the window.
 */
import { existsSync } from "node:fs";
import { verifyGatewayAdminGrant } from "../core/zero-access/gateway-admin-grant.js";
import { GrantError } from "../core/zero-access/support-grant.js";
import type { AgentConfig, PinnedKeys } from "./config.js";

export interface GatewayAdminDeps {
  now: () => number;
  run: (argv: string[]) => Promise<{ code: number; stderr: string }>;
  log: (event: string, fields?: Record<string, unknown>) => void;
  readState: <T>(name: string) => T | undefined;
  writeState: (name: string, value: unknown) => void;
}

interface WindowState {
  /** The grant whose window is open now, if any. */
  open?: { id: string; nonce: string; notAfter: string };
  /** Nonces of windows that closed, with their end (pruned after it). */
  spent: Record<string, string>;
}

const STATE_FILE = "gateway-admin.json";
export const GATEWAY_ADMIN_ID = /^gag_[A-Za-z0-9_-]{22}$/;

export class GatewayAdminWindow {
  private refused = new Set<string>();
  private unsupportedLogged = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly pinned: PinnedKeys,
    private readonly deps: GatewayAdminDeps,
  ) {}

  /** Whether a window is open now (tests and status). */
  isOpen(): boolean {
    return this.state().open !== undefined;
  }

  /**
   * One poll's worth: `listed` is the poll's `gatewayAdmin` (undefined when the poll failed: then only an
   * open window's own end is enforced). Never throws.
   */
  async handle(listed: unknown): Promise<void> {
    try {
      const state = this.state();
      if (!existsSync(this.config.paths.proxyDeviceConf)) {
        if (Array.isArray(listed) && listed.length > 0 && !this.unsupportedLogged) {
          this.deps.log("gateway_admin_unsupported", { why: "this host pins no chat proxy device (proxyDevice was not set when it was built)" });
          this.unsupportedLogged = true;
        }
        return;
      }
      const now = this.deps.now();
      const valid = listed === undefined ? this.stillOpen(state, now) : await this.firstValid(listed, state, now);
      if (valid) {
        if (state.open?.id !== valid.id) {
          if (state.open) await this.close(state, "replaced");
          this.deps.log("gateway_admin_opened", { grantId: valid.id, notAfter: valid.notAfter });
        }
        state.open = valid;
        this.save(state);
        const opened = await this.deps.run(this.config.commands.proxyAdminOpen);
        if (opened.code !== 0) this.deps.log("gateway_admin_open_failed", { code: opened.code, error: opened.stderr.slice(0, 200) });
        return;
      }
      if (state.open) await this.close(state, listed === undefined ? "ended" : "not listed");
    } catch (error) {
      this.deps.log("gateway_admin_failed", { error: (error as Error).message });
    }
  }

  private async firstValid(listed: unknown, state: WindowState, now: number): Promise<WindowState["open"]> {
    if (!Array.isArray(listed)) return undefined;
    for (const entry of listed.slice(0, 8)) {
      const candidate = entry as { id?: unknown; statement?: unknown; signature?: unknown } | null;
      if (!candidate || typeof candidate.id !== "string" || !GATEWAY_ADMIN_ID.test(candidate.id)) continue;
      try {
        const grant = await verifyGatewayAdminGrant(candidate, {
          pinnedKeys: this.pinned.keys,
          instanceId: this.pinned.instanceId,
          now: new Date(now),
          nonceSeen: (nonce) => nonce in state.spent,
        });
        return { id: candidate.id, nonce: grant.nonce, notAfter: grant.notAfter };
      } catch (error) {
        const code = error instanceof GrantError ? error.code : "invalid";
        if (!this.refused.has(`${candidate.id}:${code}`)) this.deps.log("gateway_admin_refused", { grantId: candidate.id, code, reason: (error as Error).message });
        this.refused.add(`${candidate.id}:${code}`);
      }
    }
    return undefined;
  }

  private stillOpen(state: WindowState, now: number): WindowState["open"] {
    return state.open && Date.parse(state.open.notAfter) > now ? state.open : undefined;
  }

  private async close(state: WindowState, why: string): Promise<void> {
    const open = state.open!;
    state.spent[open.nonce] = open.notAfter;
    const now = this.deps.now();
    for (const [nonce, end] of Object.entries(state.spent)) if (Date.parse(end) + 24 * 3_600_000 < now) delete state.spent[nonce];
    const closed = await this.deps.run(this.config.commands.proxyAdminClose);
    if (closed.code !== 0) {
      // Kept open in the state: the next poll tries the close again.
      this.save(state);
      this.deps.log("gateway_admin_close_failed", { grantId: open.id, code: closed.code, error: closed.stderr.slice(0, 200) });
      return;
    }
    delete state.open;
    this.save(state);
    const timer = await this.deps.run(this.config.commands.proxyDeviceTimer);
    if (timer.code !== 0) this.deps.log("gateway_admin_timer_failed", { code: timer.code, error: timer.stderr.slice(0, 200) });
    this.deps.log("gateway_admin_closed", { grantId: open.id, why });
  }

  private state(): WindowState {
    const stored = this.deps.readState<WindowState>(STATE_FILE);
    return { spent: { ...(stored?.spent ?? {}) }, ...(stored?.open ? { open: stored.open } : {}) };
  }

  private save(state: WindowState): void {
    this.deps.writeState(STATE_FILE, state);
  }
}
