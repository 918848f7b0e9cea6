/**
 * Instances and their operations, as the routes use them: create (validated
 * with the stack kind's own schema, idempotent per user and key, recorded
 * together with its first `up` in one transaction), list, read, and enqueue
 * preview / refresh / destroy. Views say what the API shows of the rows.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { HostConfig } from "../../core/host-config";
import { assertInstanceAllowed } from "../auth/plans-repo";
import type { Cloud, Database, Instance, InstanceStatus, Job } from "../db/schema";
import { plainTransaction, type TransactOf } from "../db/transact";
import { parseRequestHostConfig, REQUEST_TOP_LEVEL_KEYS } from "../engine/host-config";
import { NO_STATE_DISK, stateDiskIdOf } from "../engine/state-snapshots";
import { type JobOperation, POWER_JOB_MEMORY_MB, type PowerOperation, isDirectOperation, isPowerOperation } from "../engine/types";
import { HttpError } from "../http/errors";
import { newInstanceId, stackNameFor } from "../stacks/naming";
import { type CredentialProvider, CredentialChoiceError, MissingCredentialError } from "./credentials";
import { findInstanceByIdempotencyKey, insertInstance, setInstanceLastJob } from "./instances-repo";
import { enqueueJob, firstJobOf, getJob, isUniqueViolation, now, StackBusyError } from "./queue";
import type { QueueSettings } from "./settings";

export interface CreateInstanceRequest {
  cloud: string;
  region: string;
  size?: string | undefined;
  name?: string | undefined;
  credentialId?: string | undefined;
  /** Every other stack config key (`gatewayCidrs`, `versions`, `sshAccess`, `snapshots`...). */
  options?: Record<string, unknown> | undefined;
}

/**
 * The stack config of a create request, parsed once by the host kind's parser
 * (the same one `pulumi up` and `npm run synth` use) into the normalized
 * config the API stores. A refusal becomes a 400 naming the request field
 * (`body.region`, `body.options.gatewayCidrs`; `api/engine/host-config.ts`).
 */
export function instanceConfig(body: CreateInstanceRequest): HostConfig {
  const options = body.options ?? {};
  if ("gatewayToken" in options) {
    // The instance's config is stored and shown as is: it must never hold a secret.
    throw new HttpError(
      400,
      "`body.options.gatewayToken` is not accepted by the API: instance configs are stored and shown in clear, so the host generates its gateway token at first boot and registers it (it is then kept encrypted in the vault); the value given is not shown",
      "body.options.gatewayToken",
    );
  }
  for (const key of Object.keys(options)) {
    if (REQUEST_TOP_LEVEL_KEYS.has(key) || key === "kind") {
      throw new HttpError(400, `\`body.options.${key}\`: set \`${key}\` at the top level of the request, not in \`options\``, `body.options.${key}`);
    }
  }
  const config: Record<string, unknown> = {
    ...options,
    cloud: body.cloud,
    region: body.region,
    ...(body.size !== undefined ? { size: body.size } : {}),
    ...(body.name !== undefined ? { name: body.name } : {}),
  };
  return parseRequestHostConfig(config);
}

export function requestHash(body: CreateInstanceRequest): string {
  return createHash("sha256").update(canonicalJson(body)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export interface CreateInstanceResult {
  instance: Instance;
  job: Job;
  /** False when an earlier request with the same idempotency key already created it. */
  created: boolean;
}

/**
 * Records the instance and enqueues its first `up`, in one transaction. With
 * an idempotency key, a repeat of the same request returns the first result;
 * the same key with a different body is refused (409).
 */
export async function createInstance(
  db: Kysely<Database>,
  deps: { credentials: CredentialProvider; queue: QueueSettings; dbEngine: "sqlite" | "postgres" },
  request: { userId: string; body: CreateInstanceRequest; idempotencyKey: string | undefined },
  /** Runs the insert transaction (the route passes one that adds the audit entry). */
  transact: TransactOf<CreateInstanceResult> = plainTransaction(db),
): Promise<CreateInstanceResult> {
  const { userId, body, idempotencyKey } = request;
  const hash = requestHash(body);
  if (idempotencyKey !== undefined) {
    const earlier = await replay(db, userId, idempotencyKey, hash);
    if (earlier) return earlier;
  }
  const config = instanceConfig(body);
  const cloud = body.cloud as Cloud;
  let credentialId: string;
  try {
    credentialId = await deps.credentials.choose(userId, cloud, body.credentialId);
  } catch (error) {
    if (error instanceof MissingCredentialError) throw new HttpError(400, error.message, "body.cloud");
    if (error instanceof CredentialChoiceError) throw new HttpError(400, error.message, "body.credentialId");
    throw error;
  }
  const id = newInstanceId();
  const stackName = stackNameFor(userId, id);
  const at = now();
  try {
    return await transact(async (trx) => {
      await assertInstanceAllowed(trx, userId, deps.dbEngine);
      const instance: Instance = {
        id,
        user_id: userId,
        cloud,
        region: body.region,
        size: config.size,
        credential_id: credentialId,
        config: JSON.stringify(config),
        stack_name: stackName,
        status: "pending",
        outputs: null,
        last_job_id: null,
        idempotency_key: idempotencyKey ?? null,
        request_hash: hash,
        gateway_token_ref: null,
        tls_fingerprint: null,
        registered_at: null,
        created_at: at,
        updated_at: at,
      };
      await insertInstance(trx, instance);
      const job = await enqueueJob(trx, {
        instanceId: id,
        userId,
        stackName,
        operation: "up",
        memoryMb: deps.queue.memoryMb.up,
        maxAttempts: deps.queue.maxAttempts,
      });
      await setInstanceLastJob(trx, id, job.id);
      return { instance: { ...instance, last_job_id: job.id }, job, created: true };
    });
  } catch (error) {
    // Two requests with one key at once: the unique index lets one through; the other replays it. The loser may
    // also have met the plan limit the winner just reached: a replay answers it too.
    if (idempotencyKey !== undefined && (isUniqueViolation(error) || (error instanceof HttpError && error.field === "plan"))) {
      const earlier = await replay(db, userId, idempotencyKey, hash);
      if (earlier) return earlier;
    }
    throw error;
  }
}

async function replay(db: Kysely<Database>, userId: string, key: string, hash: string): Promise<CreateInstanceResult | undefined> {
  const instance = await findInstanceByIdempotencyKey(db, userId, key);
  if (!instance) return undefined;
  if (instance.request_hash !== hash) {
    throw new HttpError(
      409,
      "`Idempotency-Key`: this key was already used for a different request; use a new key for a new instance",
      "headers.idempotency-key",
    );
  }
  const first = await firstJobOf(db, instance.id);
  if (!first) throw new Error(`instance ${instance.id} has no job`);
  return { instance, job: first, created: false };
}

const STATUS_WHILE_QUEUED: Partial<Record<JobOperation, InstanceStatus>> = { refresh: "refreshing", destroy: "destroying" };

/** The instance states each power action starts from (doing it again is harmless: the cloud call is a no-op). */
const POWER_FROM: Record<PowerOperation, readonly InstanceStatus[]> = {
  stop: ["ready", "stopped"],
  start: ["stopped", "ready"],
  reboot: ["ready"],
};

/** Why a power action cannot be enqueued on this instance now, or undefined. */
export function powerRefusal(instance: Pick<Instance, "status" | "outputs">, operation: PowerOperation): string | undefined {
  const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
  if (outputs.instanceId === undefined || outputs.instanceId === null) return `\`${operation}\` needs a deployed host: the instance has no cloud instance yet (run \`up\` first)`;
  if (!POWER_FROM[operation].includes(instance.status)) {
    return `\`${operation}\` needs the instance ${POWER_FROM[operation].join(" or ")}; it is ${instance.status}`;
  }
  return undefined;
}

/**
 * Enqueues an operation on an existing instance. A stack-changing operation
 * while another is queued or running is refused (409), never queued twice.
 */
export async function enqueueOperation(
  db: Kysely<Database>,
  queue: QueueSettings,
  instance: Instance,
  operation: JobOperation,
  /** Runs the enqueue transaction (the route passes one that adds the audit entry). */
  transact: TransactOf<Job> = plainTransaction(db),
): Promise<Job> {
  if (instance.status === "destroyed" && operation !== "preview") {
    throw new HttpError(409, `the instance is destroyed; \`${operation}\` needs a live stack`);
  }
  if (isPowerOperation(operation)) {
    const refusal = powerRefusal(instance, operation);
    if (refusal) throw new HttpError(409, refusal);
  }
  try {
    return await transact(async (trx) => {
      const job = await enqueueJob(trx, {
        instanceId: instance.id,
        userId: instance.user_id,
        stackName: instance.stack_name,
        operation,
        memoryMb: isDirectOperation(operation) ? POWER_JOB_MEMORY_MB : queue.memoryMb[operation],
        maxAttempts: queue.maxAttempts,
      });
      await setInstanceLastJob(trx, instance.id, job.id, { status: STATUS_WHILE_QUEUED[operation] });
      return job;
    });
  } catch (error) {
    if (error instanceof StackBusyError) throw new HttpError(409, error.message);
    throw error;
  }
}

/**
 * Enqueues a `snapshots` listing of the instance's state disk (read only, one attempt, on the stack lock), or
 * answers the listing already queued or running. It does not become the instance's last job: the instance
 * page keeps following its own operations. Refused (409) for a destroyed instance, one without a
 * `stateDiskId` output, and while another operation holds the stack.
 */
export async function enqueueSnapshotListing(
  db: Kysely<Database>,
  instance: Instance,
  /** Runs the enqueue transaction (the route passes one that adds the audit entry). */
  transact: TransactOf<Job> = plainTransaction(db),
): Promise<{ job: Job; created: boolean }> {
  if (instance.status === "destroyed") throw new HttpError(409, "the instance is destroyed; its state disk is gone, and so is the listing of its snapshots");
  const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
  if (!stateDiskIdOf(outputs)) throw new HttpError(409, NO_STATE_DISK);
  try {
    const job = await transact((trx) =>
      enqueueJob(trx, {
        instanceId: instance.id,
        userId: instance.user_id,
        stackName: instance.stack_name,
        operation: "snapshots",
        memoryMb: POWER_JOB_MEMORY_MB,
        // A listing is asked for again, not retried: a failure is shown with its reason.
        maxAttempts: 1,
      }),
    );
    return { job, created: true };
  } catch (error) {
    if (error instanceof StackBusyError) {
      if (error.activeJob?.operation === "snapshots") {
        const running = await getJob(db, error.activeJob.id);
        if (running) return { job: running, created: false };
      }
      throw new HttpError(409, error.message);
    }
    throw error;
  }
}

export async function findUserJob(db: Kysely<Database>, userId: string, jobId: string): Promise<Job | undefined> {
  const job = await getJob(db, jobId);
  return job && job.user_id === userId ? job : undefined;
}

export function isFinished(job: Pick<Job, "state">): boolean {
  return job.state === "succeeded" || job.state === "failed" || job.state === "cancelled";
}
