/**
 * The host's support agent (root): the only way a support grant reaches this
 * host. It asks the API (outbound, TLS) every `pollSeconds`, verifies every
 * grant itself against the device keys pinned at creation, installs an
 * accepted one (authorized_keys with sshd's own expiry, the sshd drop-in, nft
 * set elements with a kernel timeout, sshd started) and removes it at its end,
 * at revocation, or when the API stops listing it. Commands the wrapper
 * reports are appended to a root-only log and uploaded. It also seals the
 * ClawChat keys to the pinned keys and uploads the box when they change.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { GrantError, verifyGrant, type SupportGrant } from "../core/zero-access/support-grant.js";
import { sealTo } from "../core/zero-access/sealed-box.js";
import { utf8 } from "../core/zero-access/encoding.js";
import { parseCidr } from "../core/validation.js";
import { DEFAULT_COMMANDS } from "./commands.js";
import { GatewayAdminWindow } from "./gateway-admin.js";
import { GatewayRotation, rotationRequest } from "./gateway-rotation.js";
import type { AgentConfig, PinnedKeys } from "./config.js";
import { supportSetScript } from "./nft.js";
import { lineReader, type AgentMessage, type CommandRecord, type WrapperMessage } from "./protocol.js";
import { authorizedKeys, GRANT_ID_PATTERN, sshdDropIn, type InstalledGrant } from "./sshd.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AgentDeps {
  now: () => number;
  fetch: typeof fetch;
  run: (argv: string[], input?: string) => Promise<RunResult>;
  /** One structured line per event (journald on a host); never a token, key or command output. */
  log: (event: string, fields?: Record<string, unknown>) => void;
}

/** Runs argv without a shell; stdin gets `input` when given. */
export function runCommand(argv: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], shell: false });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A command that exits without reading its input closes the pipe: not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

export const HOST_TOKEN_PATTERN = /^cshost_[A-Za-z0-9_-]{43}$/;
const UPLOAD_BATCH = 100;

interface StoredGrant {
  id: string;
  statement: string;
  signature: string;
}

interface Active extends InstalledGrant {
  statement: string;
  signature: string;
}

interface Session {
  socket: Socket;
  grantId?: string;
  operator?: string;
  pending?: { commandLine: string; startedAt: string };
}

/** `ssh-key:SHA256:<b64>`: names the support key that logged in, as ssh-keygen -l does. */
export function sshKeyOperator(keyLine: string): string {
  const blob = keyLine.trim().split(/\s+/)[1] ?? "";
  const digest = createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "");
  return `ssh-key:SHA256:${digest}`;
}

export class SupportAgent {
  private active: Active[] = [];
  private nonces: Record<string, string> = {};
  private refusedOnce = new Set<string>();
  private sessions = new Set<Session>();
  private server?: Server;
  private watcher?: FSWatcher;
  private pollTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private stopped = false;
  private queue: Promise<void> = Promise.resolve();
  private seq = 0;
  private uploading = false;
  private clawchatBusy = false;
  private lastPoll: { ok: boolean; at: number } | undefined;
  private unreachable = false;
  /** Whether this agent started sshd for support (managed) or has its drop-in in force; false at start, so start() applies. */
  private sshdLive = false;
  /** The gateway token rotation the last poll asked for (support/gateway-rotation.ts). */
  private rotationRequestedAt: string | undefined;
  private readonly rotation: GatewayRotation;
  /** The last poll's `gatewayAdmin` list; undefined when it failed (support/gateway-admin.ts). */
  private gatewayAdminListed: unknown;
  private readonly gatewayAdmin: GatewayAdminWindow;

  constructor(
    private readonly config: AgentConfig,
    private readonly pinned: PinnedKeys,
    private readonly deps: AgentDeps,
  ) {
    this.rotation = new GatewayRotation(config, {
      now: deps.now,
      fetch: deps.fetch,
      run: (argv) => deps.run(argv),
      log: deps.log,
      api: (method, path, body) => this.api(method, path, body),
      readState: <T>(name: string) => this.readJson<T | undefined>(name, undefined),
      writeState: (name, value) => this.writeJson(name, value),
    });
    this.gatewayAdmin = new GatewayAdminWindow(config, pinned, {
      now: deps.now,
      run: (argv) => deps.run(argv),
      log: deps.log,
      readState: <T>(name: string) => this.readJson<T | undefined>(name, undefined),
      writeState: (name, value) => this.writeJson(name, value),
    });
  }

  /** Whether a gateway setup window is open on this host (tests and status). */
  gatewayAdminOpen(): boolean {
    return this.gatewayAdmin.isOpen();
  }

  private get apiBase(): string {
    return `${this.config.apiUrl}/host/instances/${this.pinned.instanceId}`;
  }

  /** Loads its state, re-applies what is still valid (after a reboot the firewall starts empty), listens, polls. */
  async start(): Promise<void> {
    const { paths } = this.config;
    mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
    chmodSync(paths.stateDir, 0o700);
    this.nonces = this.readJson<Record<string, string>>("nonces.json", {});
    // The allow-list the wrapper uses, written out once so the owner sees (and may narrow) it.
    if (!existsSync(paths.commands)) this.writeFileAtomic(paths.commands, `${JSON.stringify(DEFAULT_COMMANDS, null, 2)}\n`, 0o644);
    // The state folder may outlive the log (it is on the state disk, the log on the root disk): numbering goes on after both.
    this.seq = Math.max(this.lastSeq(), this.readJson<{ seq: number }>("uploaded.json", { seq: 0 }).seq);
    await this.enqueue(async () => {
      const stored = this.readJson<StoredGrant[]>("grants.json", []);
      for (const entry of stored) {
        try {
          const grant = await verifyGrant(entry, { pinnedKeys: this.pinned.keys, instanceId: this.pinned.instanceId, now: new Date(this.deps.now()) });
          this.checkSources(grant);
          this.active.push({ id: entry.id, grant, statement: entry.statement, signature: entry.signature });
        } catch (error) {
          this.deps.log("grant_dropped_at_start", { grantId: entry.id, code: error instanceof GrantError ? error.code : "invalid" });
        }
      }
      await this.apply(stored.length > this.active.length);
    });
    await this.listen();
    this.watchClawChat();
    this.schedulePoll(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.expiryTimer);
    this.watcher?.close();
    for (const session of this.sessions) session.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.queue;
  }

  /** Grants installed now (tests and status). */
  activeGrants(): { id: string; notAfter: string }[] {
    return this.active.map((entry) => ({ id: entry.id, notAfter: entry.grant.notAfter }));
  }

  /** Serializes every change of state: polls, timers and removals never interleave. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((error: unknown) => this.deps.log("agent_error", { error: (error as Error).message }));
    this.queue = next;
    return next;
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      void this.pollOnce().finally(() => this.schedulePoll(this.config.pollSeconds * 1000));
    }, delayMs);
  }

  /** One round: grants, a gateway token rotation asked for, then pending uploads and the ClawChat box. Never throws. */
  async pollOnce(): Promise<void> {
    await this.enqueue(() => this.pollGrants());
    const requestedAt = this.rotationRequestedAt;
    if (requestedAt) await this.enqueue(() => this.rotation.handle(requestedAt));
    const listed = this.gatewayAdminListed;
    await this.enqueue(() => this.gatewayAdmin.handle(listed));
    await this.uploadPending();
    await this.syncClawChat();
  }

  private hostToken(): string | undefined {
    try {
      const token = readFileSync(this.config.paths.hostToken, "utf8").trim();
      return HOST_TOKEN_PATTERN.test(token) ? token : undefined;
    } catch {
      return undefined;
    }
  }

  private async api(method: string, path: string, body?: unknown): Promise<Response | undefined> {
    const token = this.hostToken();
    if (!token) {
      this.logOnce("no_host_token", "no_host_token", { path: this.config.paths.hostToken });
      return undefined;
    }
    try {
      const response = await this.deps.fetch(`${this.apiBase}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
        redirect: "error",
      });
      if (this.unreachable) this.deps.log("api_reachable_again");
      this.unreachable = false;
      return response;
    } catch (error) {
      // Logged once until the API answers again (a host without network would fill its journal otherwise).
      if (!this.unreachable) this.deps.log("api_unreachable", { method, path, error: (error as Error).message });
      this.unreachable = true;
      return undefined;
    }
  }

  private async pollGrants(): Promise<void> {
    // Until this poll's answer is read, no setup window is known to be listed (only an open one's end counts).
    this.gatewayAdminListed = undefined;
    const response = await this.api("GET", "/support-grants");
    // The API unreachable or refusing: nothing new is installed, and what is installed keeps its own end.
    if (!response || !response.ok) {
      if (response) this.deps.log("grants_poll_refused", { status: response.status });
      this.lastPoll = { ok: false, at: this.deps.now() };
      await this.removeExpired();
      return;
    }
    let body: { grants?: unknown; revoked?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      this.deps.log("grants_poll_bad_body");
      return;
    }
    if (!Array.isArray(body.grants) || !Array.isArray(body.revoked)) {
      this.deps.log("grants_poll_bad_body");
      return;
    }
    this.lastPoll = { ok: true, at: this.deps.now() };
    this.rotationRequestedAt = rotationRequest(body);
    this.gatewayAdminListed = (body as { gatewayAdmin?: unknown }).gatewayAdmin ?? [];
    const listed = new Map<string, StoredGrant>();
    for (const entry of body.grants.slice(0, 32)) {
      const candidate = entry as Partial<StoredGrant> | null;
      if (!candidate || typeof candidate.id !== "string" || !GRANT_ID_PATTERN.test(candidate.id)) continue;
      listed.set(candidate.id, candidate as StoredGrant);
    }
    const revoked = new Set(body.revoked.filter((id): id is string => typeof id === "string"));
    // What the API no longer lists as active is gone: revoked, expired, or withdrawn. Less access never needs a signature.
    const keep = this.active.filter((entry) => !revoked.has(entry.id) && listed.get(entry.id)?.statement === entry.statement);
    const removed = this.active.filter((entry) => !keep.includes(entry));
    for (const entry of removed) this.deps.log("grant_removed", { grantId: entry.id, why: revoked.has(entry.id) ? "revoked" : "no longer listed" });
    const added: Active[] = [];
    for (const [id, signed] of listed) {
      if (revoked.has(id) || keep.some((entry) => entry.id === id)) continue;
      try {
        const grant = await verifyGrant(signed, {
          pinnedKeys: this.pinned.keys,
          instanceId: this.pinned.instanceId,
          now: new Date(this.deps.now()),
          nonceSeen: (nonce) => nonce in this.nonces,
        });
        this.checkSources(grant);
        // The nonce is spent before anything is installed: a crash in between never lets the grant in twice.
        this.nonces[grant.nonce] = grant.notAfter;
        this.pruneNonces();
        this.writeJson("nonces.json", this.nonces);
        added.push({ id, grant, statement: signed.statement, signature: signed.signature });
        this.deps.log("grant_accepted", { grantId: id, notAfter: grant.notAfter, signer: grant.signer, sources: grant.sources.join(",") });
      } catch (error) {
        const code = error instanceof GrantError ? error.code : "invalid";
        this.logOnce(`${id}:${code}`, "grant_refused", { grantId: id, code, reason: (error as Error).message });
      }
    }
    if (removed.length === 0 && added.length === 0) {
      await this.removeExpired();
      return;
    }
    this.active = [...keep, ...added];
    await this.apply(removed.length > 0);
  }

  /** The host's own strict check of the sources (the signed statement only checks their shape). */
  private checkSources(grant: SupportGrant): void {
    grant.sources.forEach((cidr, i) => {
      try {
        parseCidr(`sources[${i}]`, cidr);
      } catch (error) {
        throw new GrantError("malformed", (error as Error).message);
      }
    });
  }

  private pruneNonces(): void {
    const horizon = this.deps.now() - 24 * 3600_000;
    for (const [nonce, notAfter] of Object.entries(this.nonces)) if (Date.parse(notAfter) < horizon) delete this.nonces[nonce];
  }

  private async removeExpired(): Promise<void> {
    const now = this.deps.now();
    const expired = this.active.filter((entry) => Date.parse(entry.grant.notAfter) <= now);
    if (expired.length === 0) return;
    for (const entry of expired) this.deps.log("grant_expired", { grantId: entry.id, notAfter: entry.grant.notAfter });
    this.active = this.active.filter((entry) => !expired.includes(entry));
    await this.apply(true);
  }

  /**
   * Makes the host match `this.active`: files, firewall set, sshd; and, when
   * access was taken away, ends the support user's sessions.
   */
  private async apply(removedSome: boolean): Promise<void> {
    const { paths, commands } = this.config;
    this.writeJson("grants.json", this.active.map(({ id, statement, signature }) => ({ id, statement, signature })));
    const now = this.deps.now();
    const live = this.active;
    const wasLive = this.sshdLive;
    let dropInChanged = false;
    if (live.length > 0) {
      this.writeFileAtomic(paths.authorizedKeys, authorizedKeys(live, paths.wrapper), 0o644);
      dropInChanged = this.writeFileAtomic(
        paths.sshdDropIn,
        sshdDropIn({ user: this.config.supportUser, authorizedKeysFile: paths.authorizedKeys, wrapper: paths.wrapper, supportOnly: this.config.sshManaged }),
        0o644,
      );
    } else {
      rmSync(paths.authorizedKeys, { force: true });
      dropInChanged = existsSync(paths.sshdDropIn);
      rmSync(paths.sshdDropIn, { force: true });
    }
    await this.must("nft", commands.nft, supportSetScript(live, now));
    // sshd reads authorized_keys at each login: only a changed drop-in needs a reload (a reload re-executes
    // sshd, and a connection arriving meanwhile is reset, so it is never done for nothing).
    if (live.length > 0) {
      const test = commands.sshdTest.length > 0 ? await this.deps.run(commands.sshdTest) : { code: 0, stdout: "", stderr: "" };
      if (test.code !== 0) {
        // sshd would refuse its config: nothing is started or reloaded.
        this.deps.log("sshd_config_refused", { stderr: test.stderr.slice(0, 500) });
      } else if (this.config.sshManaged && !wasLive) {
        await this.must("start_ssh", commands.startSsh);
        this.sshdLive = true;
      } else if (dropInChanged) {
        await this.must("reload_ssh", commands.reloadSsh);
        this.sshdLive = true;
      }
    } else if (this.config.sshManaged) {
      await this.must("stop_ssh", commands.stopSsh);
      this.sshdLive = false;
    } else if (dropInChanged) {
      await this.must("reload_ssh", commands.reloadSsh);
    }
    if (removedSome) {
      const liveIds = new Set(live.map((entry) => entry.id));
      for (const session of this.sessions) if (session.grantId && !liveIds.has(session.grantId)) session.socket.destroy();
      // pkill exits 1 when there was nothing to kill.
      const killed = await this.deps.run([...commands.killSessions, this.config.supportUser]);
      this.deps.log("support_sessions_killed", { exit: killed.code });
    }
    this.armExpiry();
  }

  private async must(what: string, argv: string[], input?: string): Promise<void> {
    const result = await this.deps.run(argv, input);
    if (result.code !== 0) this.deps.log("command_failed", { what, exit: result.code, stderr: result.stderr.slice(0, 500) });
  }

  /** A timer for the earliest end: removal happens on time even when the API is unreachable. */
  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped || this.active.length === 0) return;
    const next = Math.min(...this.active.map((entry) => Date.parse(entry.grant.notAfter)));
    const delay = Math.max(0, Math.min(next - this.deps.now(), 2 ** 31 - 1));
    this.expiryTimer = setTimeout(() => void this.enqueue(() => this.removeExpired()), delay + 5);
  }

  // --- the wrapper's socket ------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const { socket: path } = this.config.paths;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    rmSync(path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    // Only root and the support user's group may talk to it.
    const gid = groupOf(this.config.supportUser);
    if (gid !== undefined) chownSync(path, 0, gid);
    chmodSync(path, 0o660);
    this.server = server;
  }

  private accept(socket: Socket): void {
    const session: Session = { socket };
    this.sessions.add(session);
    const send = (message: AgentMessage) => socket.write(`${JSON.stringify(message)}\n`);
    const read = lineReader(
      (value) => void this.onMessage(session, value as WrapperMessage, send),
      () => socket.destroy(),
    );
    socket.on("data", read);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.sessions.delete(session);
      // The session ended while a command ran (killed at revocation, or the client went away): logged all the same.
      if (session.pending && session.grantId) {
        const pending = session.pending;
        session.pending = undefined;
        this.record(session, { endedAt: new Date(this.deps.now()).toISOString(), exitStatus: -1, stdoutBytes: 0, stderrBytes: 0 }, pending);
      }
    });
  }

  private onMessage(session: Session, message: WrapperMessage, send: (message: AgentMessage) => void): void {
    switch (message?.type) {
      case "hello": {
        const found = this.findGrant(message.key, message.grantId);
        if (!found) {
          send({ type: "refused", reason: "no active support grant for this key" });
          session.socket.end();
          return;
        }
        session.grantId = found.id;
        session.operator = message.key ? sshKeyOperator(message.key) : `grant:${found.id}`;
        send({ type: "welcome", grantId: found.id, notAfter: found.grant.notAfter, operator: session.operator });
        return;
      }
      case "begin":
        if (!session.grantId || session.pending || typeof message.commandLine !== "string" || !isIso(message.startedAt)) {
          session.socket.destroy();
          return;
        }
        session.pending = { commandLine: message.commandLine.slice(0, 1000), startedAt: message.startedAt };
        return;
      case "end": {
        const pending = session.pending;
        if (!pending || !isIso(message.endedAt) || ![message.exitStatus, message.stdoutBytes, message.stderrBytes].every(Number.isSafeInteger)) {
          session.socket.destroy();
          return;
        }
        session.pending = undefined;
        const seq = this.record(session, message, pending);
        send({ type: "logged", seq });
        return;
      }
      default:
        session.socket.destroy();
    }
  }

  /** The grant the authenticated key belongs to (the latest ending one when several name it). */
  private findGrant(key: string | null, grantId: string | null): Active | undefined {
    const now = this.deps.now();
    const live = this.active.filter((entry) => Date.parse(entry.grant.notAfter) > now);
    if (typeof key === "string") {
      const normalized = key.trim().split(/\s+/).slice(0, 2).join(" ");
      return live
        .filter((entry) => entry.grant.supportKeys.includes(normalized) && (grantId === null || entry.id === grantId))
        .sort((a, b) => Date.parse(b.grant.notAfter) - Date.parse(a.grant.notAfter))[0];
    }
    return typeof grantId === "string" ? live.find((entry) => entry.id === grantId) : undefined;
  }

  private record(session: Session, end: { endedAt: string; exitStatus: number; stdoutBytes: number; stderrBytes: number }, pending: { commandLine: string; startedAt: string }): number {
    this.seq += 1;
    const record: CommandRecord = {
      seq: this.seq,
      grantId: session.grantId ?? "",
      operator: session.operator ?? "",
      // The API takes 1 to 4096 characters: an empty command (`ssh host ''`) is named, not sent empty.
      commandLine: pending.commandLine === "" ? "(empty command)" : pending.commandLine,
      startedAt: pending.startedAt,
      endedAt: end.endedAt,
      exitStatus: end.exitStatus,
      stdoutBytes: end.stdoutBytes,
      stderrBytes: end.stderrBytes,
    };
    this.appendLog(record);
    void this.uploadPending();
    return record.seq;
  }

  private appendLog(record: CommandRecord): void {
    const path = this.config.paths.commandLog;
    const fresh = !existsSync(path);
    if (fresh) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    appendFileSync(path, `${JSON.stringify(record)}\n`, { mode: 0o600, flag: "a" });
    if (fresh) {
      chmodSync(path, 0o600);
      const argv = this.config.commands.appendOnly;
      if (argv.length > 0) {
        void this.deps.run([...argv, path]).then((result) => {
          if (result.code !== 0) this.deps.log("append_only_not_set", { path, stderr: result.stderr.slice(0, 200) });
        });
      }
    }
  }

  private readLog(): CommandRecord[] {
    try {
      return readFileSync(this.config.paths.commandLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as CommandRecord);
    } catch {
      return [];
    }
  }

  private lastSeq(): number {
    const records = this.readLog();
    return records.length === 0 ? 0 : Math.max(...records.map((record) => record.seq));
  }

  /** Uploads what the API has not acknowledged yet, in order (idempotent on seq, so a retry is harmless). */
  async uploadPending(): Promise<void> {
    if (this.uploading) return;
    this.uploading = true;
    try {
      let uploaded = this.readJson<{ seq: number }>("uploaded.json", { seq: 0 }).seq;
      for (;;) {
        const batch = this.readLog().filter((record) => record.seq > uploaded).slice(0, UPLOAD_BATCH);
        if (batch.length === 0) return;
        const response = await this.api("POST", "/support-commands", { entries: batch });
        if (response?.status === 400) {
          // The API refuses something in the batch for good: send them one by one, and step over (log) only
          // the record it refuses, so one bad record never holds back the others. The host log keeps it.
          for (const record of batch) {
            const single = await this.api("POST", "/support-commands", { entries: [record] });
            if (!single || (!single.ok && single.status !== 400)) return;
            if (!single.ok) this.deps.log("command_record_refused_by_api", { seq: record.seq, status: single.status });
            uploaded = record.seq;
            this.writeJson("uploaded.json", { seq: uploaded });
          }
          continue;
        }
        if (!response || !response.ok) {
          if (response) this.deps.log("commands_upload_refused", { status: response.status });
          return;
        }
        uploaded = batch[batch.length - 1]!.seq;
        this.writeJson("uploaded.json", { seq: uploaded });
      }
    } finally {
      this.uploading = false;
    }
  }

  // --- ClawChat keys ---------------------------------------------------------------------------------

  private watchClawChat(): void {
    const dir = this.config.clawchatSecurityDir;
    if (!dir || !existsSync(dir)) return;
    try {
      let timer: NodeJS.Timeout | undefined;
      this.watcher = watch(dir, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void this.syncClawChat(), 500);
      });
      this.watcher.on("error", () => undefined);
    } catch (error) {
      this.deps.log("clawchat_watch_failed", { error: (error as Error).message });
    }
  }

  /** The newest security file and the bootstrap key, as the user opens them; undefined while not both exist. */
  private readClawChatKeys(): { securityFile: string; bootstrapKey: string } | undefined {
    const dir = this.config.clawchatSecurityDir;
    if (!dir) return undefined;
    try {
      const newest = readdirSync(dir).filter((name) => /^clawchat-\d{8}-\d{6}\.sec$/.test(name)).sort().pop();
      if (!newest || !statSync(join(dir, "bootstrap.key")).isFile()) return undefined;
      return { securityFile: readFileSync(join(dir, newest), "utf8"), bootstrapKey: readFileSync(join(dir, "bootstrap.key"), "utf8").trim() };
    } catch {
      return undefined;
    }
  }

  /** Seals the current keys to the pinned device keys and PUTs the box, once per change. */
  async syncClawChat(): Promise<void> {
    if (this.clawchatBusy) return;
    this.clawchatBusy = true;
    try {
      const keys = this.readClawChatKeys();
      if (!keys) return;
      const plaintext = utf8.encode(JSON.stringify(keys));
      // A digest of the plaintext remembers what was sent without keeping it (the digest alone reveals nothing usable).
      const digest = createHash("sha256").update(plaintext).digest("hex");
      if (this.readJson<{ sha256?: string }>("clawchat.json", {}).sha256 === digest) return;
      const box = await sealTo(this.pinned.keys, plaintext, `clawchat-keys:${this.pinned.instanceId}`);
      plaintext.fill(0);
      const response = await this.api("PUT", "/clawchat-keys", { box });
      if (!response || !response.ok) {
        if (response) this.deps.log("clawchat_keys_upload_refused", { status: response.status });
        return;
      }
      this.writeJson("clawchat.json", { sha256: digest, uploadedAt: new Date(this.deps.now()).toISOString() });
      this.deps.log("clawchat_keys_uploaded", { recipients: box.recipients.length });
    } finally {
      this.clawchatBusy = false;
    }
  }

  // --- files ---------------------------------------------------------------------------------------

  private readJson<T>(name: string, fallback: T): T {
    try {
      return JSON.parse(readFileSync(join(this.config.paths.stateDir, name), "utf8")) as T;
    } catch {
      return fallback;
    }
  }

  private writeJson(name: string, value: unknown): void {
    this.writeFileAtomic(join(this.config.paths.stateDir, name), `${JSON.stringify(value)}\n`, 0o600);
  }

  /** Writes `content` (temporary file, then rename); returns whether the file's content changed. */
  private writeFileAtomic(path: string, content: string, mode: number): boolean {
    let before: string | undefined;
    try {
      before = readFileSync(path, "utf8");
    } catch {
      before = undefined;
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode });
    chmodSync(temporary, mode);
    renameSync(temporary, path);
    return before !== content;
  }

  private logOnce(key: string, event: string, fields: Record<string, unknown>): void {
    if (this.refusedOnce.has(key)) return;
    this.refusedOnce.add(key);
    this.deps.log(event, fields);
  }

  /** Whether the last poll reached the API (status and tests). */
  lastPollOk(): boolean | undefined {
    return this.lastPoll?.ok;
  }
}

function isIso(value: unknown): value is string {
  return typeof value === "string" && value.length <= 40 && !Number.isNaN(Date.parse(value));
}

/** The primary group id of `user`, from /etc/passwd. */
function groupOf(user: string): number | undefined {
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith(`${user}:`));
    const gid = Number(line?.split(":")[3]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}
