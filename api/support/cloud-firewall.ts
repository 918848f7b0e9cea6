/**
 * A support grant's SSH rule in the host's cloud firewall (issue 17,
 * docs/zero-access.md "The cloud firewall"): the API side's half of a grant.
 *
 * - A grant is made `opening` and a `support-open` job is enqueued for its
 *   instance; a revoke makes it `closing` and enqueues `support-close`. Both
 *   run on the stack's lock, so never during an `up`; when the stack is busy
 *   the sweep below enqueues them as soon as it is free.
 * - `support-open` opens tcp/22 from exactly the sources of each live
 *   `opening` grant of the instance (`open`, or `failed` with the reason).
 * - `support-close` removes the rule of each revoked or ended grant not known
 *   closed (`closed`, or `failed`: the sweep tries again), leaving open what
 *   the instance's other live grants and its own `sshAccess` still need.
 * - The sweep (`CloudFirewallSweep`, one worker per interval) marks ended
 *   grants `closing` and enqueues the jobs the grants still need.
 *
 * Every enqueue is an audit entry of the instance's owner
 * (`support_grant.cloud_firewall.open` / `.close`, target `<instance>:<job>`).
 */
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { AuditLog } from "../audit/audit-log";
import { nowIso } from "../db/ids";
import type { Database, Instance, Job } from "../db/schema";
import type { PowerOptions } from "../engine/power";
import { closeSupportRule, openSupportRule, SupportFirewallError } from "../engine/support-firewall";
import { POWER_JOB_MEMORY_MB, type SupportFirewallOperation } from "../engine/types";
import { enqueueJob, StackBusyError } from "../jobs/queue";
import { runInSlot, SlotTimer } from "../jobs/scheduler-slot";
import * as repo from "./repo";
import type { SupportGrantRow } from "./tables";

export interface CloudFirewallOutcome {
  opened: string[];
  closed: string[];
  failures: { grantId: string; message: string }[];
  /** One line per grant for the job's log (no secrets: CIDRs, rule names, ids). */
  log: string[];
}

function ended(grant: SupportGrantRow, now: string): boolean {
  return grant.revoked_at !== null || grant.not_after <= now;
}

function sourcesOf(grant: SupportGrantRow): string[] {
  return JSON.parse(grant.sources) as string[];
}

/** The stack's own `sshAccess.cidrs` (its firewall opens 22 from them whatever grants say). */
function sshAccessCidrs(config: Record<string, unknown>): string[] {
  const access = config.sshAccess as { cidrs?: unknown } | null | undefined;
  return Array.isArray(access?.cidrs) ? access.cidrs.filter((cidr): cidr is string => typeof cidr === "string") : [];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `support-open` or `support-close` for every grant of the instance that needs it. */
export async function runCloudFirewallJob(
  db: Kysely<Database>,
  operation: SupportFirewallOperation,
  instance: Pick<Instance, "id" | "cloud" | "region" | "config" | "outputs">,
  env: Record<string, string>,
  options: PowerOptions = {},
  redact: (text: string) => string = (text) => text,
): Promise<CloudFirewallOutcome> {
  const now = nowIso();
  const config = JSON.parse(instance.config) as Record<string, unknown>;
  const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
  const target = { cloud: instance.cloud, region: instance.region, config, outputs };
  const grants = await repo.grantsWithCloudRule(db, instance.id);
  const outcome: CloudFirewallOutcome = { opened: [], closed: [], failures: [], log: [] };
  const fail = async (grant: SupportGrantRow, error: unknown) => {
    const message = redact(messageOf(error)).slice(0, 500);
    outcome.failures.push({ grantId: grant.id, message });
    outcome.log.push(`${grant.id}: ${message}`);
    await repo.setCloudFirewall(db, grant.id, "failed", repo.CLOUD_RULE_MAY_BE_OPEN, message);
  };

  if (operation === "support-open") {
    for (const grant of grants.filter((candidate) => candidate.cloud_firewall === "opening")) {
      if (ended(grant, now)) {
        // Revoked or ended before its rule was opened: nothing is opened; the close job confirms.
        await repo.setCloudFirewall(db, grant.id, "closing", ["opening"]);
        outcome.log.push(`${grant.id}: ended before its rule was opened; not opened`);
        continue;
      }
      try {
        const result = await openSupportRule(target, { grantId: grant.id, sources: sourcesOf(grant) }, env, options);
        // Only from `opening`: a revoke while the call ran made it `closing`, and the close job removes it.
        await repo.setCloudFirewall(db, grant.id, "open", ["opening"]);
        outcome.opened.push(grant.id);
        outcome.log.push(`${grant.id}: ${result.detail}`);
      } catch (error) {
        await fail(grant, error);
      }
    }
    return outcome;
  }

  const live = grants.filter((grant) => !ended(grant, now));
  const keep = [...new Set([...live.flatMap(sourcesOf), ...sshAccessCidrs(config)])];
  for (const grant of grants.filter((candidate) => ended(candidate, now))) {
    try {
      const result = await closeSupportRule(target, { grantId: grant.id, sources: sourcesOf(grant) }, keep, env, options);
      await repo.setCloudFirewall(db, grant.id, "closed", repo.CLOUD_RULE_MAY_BE_OPEN);
      outcome.closed.push(grant.id);
      outcome.log.push(`${grant.id}: ${result.detail}`);
    } catch (error) {
      await fail(grant, error);
    }
  }
  return outcome;
}

/** Marks every grant this job would have handled `failed` (the job failed before reaching the cloud, e.g. no credential). */
export async function failCloudFirewallJob(db: Kysely<Database>, operation: SupportFirewallOperation, instanceId: string, message: string): Promise<void> {
  const now = nowIso();
  for (const grant of await repo.grantsWithCloudRule(db, instanceId)) {
    const wanted = operation === "support-open" ? grant.cloud_firewall === "opening" && !ended(grant, now) : ended(grant, now);
    if (wanted) await repo.setCloudFirewall(db, grant.id, "failed", repo.CLOUD_RULE_MAY_BE_OPEN, message.slice(0, 500));
  }
}

/** The error a failed job reports: which grants, and why (the first reason; every one is on its grant). */
export function cloudFirewallFailure(operation: SupportFirewallOperation, outcome: CloudFirewallOutcome): SupportFirewallError | undefined {
  if (outcome.failures.length === 0) return undefined;
  const first = outcome.failures[0]!;
  const more = outcome.failures.length > 1 ? ` (and ${outcome.failures.length - 1} more grant${outcome.failures.length > 2 ? "s" : ""})` : "";
  return new SupportFirewallError("cloud-error", `${operation} failed for grant ${first.grantId}${more}: ${first.message}`);
}

/**
 * Enqueues `support-open` or `support-close` for the instance with its audit entry, in one transaction.
 * Undefined when the stack already has an operation queued or running: the sweep enqueues it afterwards.
 */
export async function enqueueCloudFirewallJob(
  db: Kysely<Database>,
  instance: Pick<Instance, "id" | "user_id" | "stack_name">,
  operation: SupportFirewallOperation,
  audit: { log: AuditLog; requestId?: string; maxAttempts?: number },
): Promise<Job | undefined> {
  try {
    return await db.transaction().execute(async (trx) => {
      const job = await enqueueJob(trx, {
        instanceId: instance.id,
        userId: instance.user_id,
        stackName: instance.stack_name,
        operation,
        memoryMb: POWER_JOB_MEMORY_MB,
        // One attempt: a failure marks the grants `failed`, and the sweep (closing) or the user (opening) tries again.
        maxAttempts: audit.maxAttempts ?? 1,
      });
      await audit.log.record(
        {
          action: `support_grant.cloud_firewall.${operation === "support-open" ? "open" : "close"}`,
          result: "ok",
          actorUserId: instance.user_id,
          actorKind: "system",
          target: `${instance.id}:${job.id}`,
          requestId: audit.requestId ?? null,
        },
        trx,
      );
      return job;
    });
  } catch (error) {
    if (error instanceof StackBusyError) return undefined;
    throw error;
  }
}

export interface CloudFirewallSweepOptions {
  db: Kysely<Database>;
  /** How often (`CLAWSTACK_SUPPORT_FIREWALL_INTERVAL_MS`, default 60 s); 0 (tests only: the setting itself refuses 0): never. */
  intervalMs: number;
  logger: { info(object: Record<string, unknown>, message: string): void; error(object: Record<string, unknown>, message: string): void };
  /** Tells the local worker there is work now. */
  wake?: () => void;
}

const TASK = "support-cloud-firewall-sweep";
const DEFAULT_HOLDER = `${hostname()}-${process.pid}`;

/**
 * The expiry sweep: every interval one worker marks ended grants `closing` and enqueues `support-close` for
 * each instance with a grant to close (revoked, ended, or failed to close), then `support-open` for each
 * instance with a live grant still `opening` (its stack was busy when it was made).
 */
export class CloudFirewallSweep {
  private readonly timer: SlotTimer<{ expired: number; enqueued: number; busy: number } | undefined>;
  private readonly audit: AuditLog;

  constructor(private readonly options: CloudFirewallSweepOptions) {
    this.audit = new AuditLog(options.db);
    this.timer = new SlotTimer(options.intervalMs, () => this.runSlot(), {
      done: (summary) => {
        if (summary && summary.enqueued + summary.expired > 0) options.logger.info(summary, "support cloud firewall sweep");
      },
      crashed: (error) => options.logger.error({ err: messageOf(error) }, "support cloud firewall sweep crashed"),
    });
  }

  async runOnce(now = new Date()): Promise<{ expired: number; enqueued: number; busy: number }> {
    const { db } = this.options;
    const at = now.toISOString();
    const expired = await repo.closeEndedCloudRules(db, at);
    const work = await repo.instancesWithCloudRuleWork(db, at);
    let enqueued = 0;
    let busy = 0;
    for (const [operation, ids] of [["support-close", work.close], ["support-open", work.open]] as const) {
      for (const id of ids) {
        const instance = await db.selectFrom("instances").select(["id", "user_id", "stack_name"]).where("id", "=", id).executeTakeFirst();
        if (!instance) continue;
        if (await enqueueCloudFirewallJob(db, instance, operation, { log: this.audit })) enqueued += 1;
        else busy += 1;
      }
    }
    if (enqueued > 0) this.options.wake?.();
    return { expired, enqueued, busy };
  }

  runSlot(now = new Date(), holder = DEFAULT_HOLDER): Promise<{ expired: number; enqueued: number; busy: number } | undefined> {
    const { db, intervalMs } = this.options;
    return runInSlot({ db, task: TASK, intervalMs, keepMs: 86_400_000 }, now, holder, () => this.runOnce(now));
  }

  start(): void {
    this.timer.start();
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }
}
