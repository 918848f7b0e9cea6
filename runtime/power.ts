/**
 * Power actions on a host (issue 14 item 6): stop, start and reboot the
 * instance a stack created, with the customer's own credentials, on each
 * cloud's own API. Nothing here changes the stack: the instance keeps its
 * stable address (Elastic IP, static address, reserved IP) and its state disk,
 * which stay attached across a stop and a start on every cloud.
 *
 * Every action first reads the instance and refuses one that does not carry
 * ClawStack's marker (`ManagedBy:claw-cloud` tag, `managed-by: claw-cloud`
 * label), the same condition the provisioner's AWS policy puts on these
 * actions. An action that is already done (stop on a stopped instance) is a
 * no-op that reports the state. The call returns when the instance reached
 * the state the action aims at, or throws `PowerError` after `waitMs`.
 *
 *   stop     DigitalOcean `shutdown` (graceful; `power_off` if that errors),
 *            EC2 StopInstances, Compute `instances.stop`
 *   start    `power_on`, StartInstances, `instances.start`
 *   reboot   `reboot`, RebootInstances, `instances.reset`
 */
import { DescribeInstancesCommand, type EC2Client, RebootInstancesCommand, StartInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { GCP_MANAGED_BY_LABEL, MANAGED_BY } from "../components/host/tags.js";
import { DigitalOceanToken, digitalOceanErrorMessage, digitalOceanRequest, type DigitalOceanApiOptions } from "./digitalocean-api.js";

export const POWER_ACTIONS = ["stop", "start", "reboot"] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];
/** What the API shows: `running`, `stopped`, or `transitioning` while the cloud is between the two. */
export type PowerState = "running" | "stopped" | "transitioning";

export interface PowerResult {
  action: PowerAction;
  /** The state after the action. */
  state: PowerState;
  /** False when the instance was already in the state the action aims at. */
  changed: boolean;
  seconds: number;
}

export class PowerError extends Error {
  constructor(
    readonly code: "not-managed" | "not-found" | "cloud-error" | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "PowerError";
  }
}

interface Wait {
  /** How often to look at the instance while waiting. Default 5 s. */
  pollMs?: number;
  /** How long to wait for the target state. Default 10 minutes. */
  waitMs?: number;
}

const TARGET: Record<PowerAction, PowerState> = { stop: "stopped", start: "running", reboot: "running" };

async function waitFor(what: string, wait: Wait, read: () => Promise<PowerState | "failed">, target: PowerState): Promise<void> {
  const deadline = Date.now() + (wait.waitMs ?? 600_000);
  for (;;) {
    const state = await read();
    if (state === "failed") throw new PowerError("cloud-error", `${what} failed at the cloud`);
    if (state === target) return;
    if (Date.now() > deadline) throw new PowerError("timeout", `${what}: still ${state} after ${Math.round((wait.waitMs ?? 600_000) / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs ?? 5_000));
  }
}

// ---------------------------------------------------------------------------
// DigitalOcean: droplet actions (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplet-Actions)

export interface DigitalOceanPowerParams extends DigitalOceanApiOptions, Wait {
  token: string | DigitalOceanToken;
  dropletId: number;
  action: PowerAction;
}

const DO_ACTION: Record<PowerAction, string> = { stop: "shutdown", start: "power_on", reboot: "reboot" };

function digitalOceanState(status: unknown): PowerState {
  if (status === "active") return "running";
  if (status === "off") return "stopped";
  return "transitioning";
}

export async function digitalOceanPower(params: DigitalOceanPowerParams): Promise<PowerResult> {
  const started = Date.now();
  const token = params.token instanceof DigitalOceanToken ? params.token : new DigitalOceanToken(params.token);
  if (!Number.isSafeInteger(params.dropletId) || params.dropletId <= 0) {
    throw new PowerError("not-found", `\`dropletId\` must be a positive droplet id; got ${String(params.dropletId)}`);
  }
  const readDroplet = async () => {
    const response = await digitalOceanRequest(token, "GET", `/v2/droplets/${params.dropletId}`, params);
    if (response.status === 404) throw new PowerError("not-found", `droplet ${params.dropletId} does not exist`);
    if (response.status !== 200) {
      throw new PowerError("cloud-error", `reading droplet ${params.dropletId} failed (${response.status}): ${digitalOceanErrorMessage(response.body) ?? "no message"}`);
    }
    return (response.body as { droplet?: { status?: unknown; tags?: unknown } }).droplet ?? {};
  };
  const droplet = await readDroplet();
  const marker = `${MANAGED_BY.key}:${MANAGED_BY.value}`;
  if (!Array.isArray(droplet.tags) || !droplet.tags.includes(marker)) {
    throw new PowerError("not-managed", `droplet ${params.dropletId} does not carry the tag ${marker}: ClawStack powers only what it created`);
  }
  const before = digitalOceanState(droplet.status);
  const target = TARGET[params.action];
  if (params.action !== "reboot" && before === target) {
    return { action: params.action, state: before, changed: false, seconds: (Date.now() - started) / 1000 };
  }
  const runAction = async (type: string): Promise<"completed" | "errored"> => {
    const posted = await digitalOceanRequest(token, "POST", `/v2/droplets/${params.dropletId}/actions`, { ...params, body: { type } });
    if (posted.status !== 201) {
      throw new PowerError("cloud-error", `droplet action ${type} was refused (${posted.status}): ${digitalOceanErrorMessage(posted.body) ?? "no message"}`);
    }
    const actionId = (posted.body as { action?: { id?: unknown } }).action?.id;
    if (typeof actionId !== "number") throw new PowerError("cloud-error", `droplet action ${type}: the answer names no action id`);
    let outcome: "completed" | "errored" = "errored";
    await waitFor(`droplet action ${type}`, params, async () => {
      const read = await digitalOceanRequest(token, "GET", `/v2/actions/${actionId}`, params);
      const status = (read.body as { action?: { status?: unknown } }).action?.status;
      if (status === "completed" || status === "errored") {
        outcome = status;
        return target;
      }
      return "transitioning";
    }, target);
    return outcome;
  };
  let outcome = await runAction(DO_ACTION[params.action]);
  // A graceful shutdown that the guest ignored errors after a while: then cut the power.
  if (outcome === "errored" && params.action === "stop") outcome = await runAction("power_off");
  if (outcome === "errored") throw new PowerError("cloud-error", `droplet action ${DO_ACTION[params.action]} ended in "errored"`);
  await waitFor(`droplet ${params.dropletId} ${params.action}`, params, async () => digitalOceanState((await readDroplet()).status), target);
  return { action: params.action, state: target, changed: true, seconds: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------
// AWS: EC2 (the client carries the customer's assumed-role session: runtime/aws-sts.ts)

export interface AwsPowerParams extends Wait {
  ec2: EC2Client;
  instanceId: string;
  action: PowerAction;
}

function awsState(name: string | undefined): PowerState | "failed" {
  if (name === "running") return "running";
  if (name === "stopped") return "stopped";
  if (name === "terminated" || name === "shutting-down") return "failed";
  return "transitioning";
}

export async function awsPower(params: AwsPowerParams): Promise<PowerResult> {
  const started = Date.now();
  if (!/^i-([0-9a-f]{8}|[0-9a-f]{17})$/.test(params.instanceId)) {
    throw new PowerError("not-found", `\`instanceId\` must be an EC2 instance id such as i-0123456789abcdef0; got ${JSON.stringify(params.instanceId).slice(0, 40)}`);
  }
  const describe = async () => {
    let answer;
    try {
      answer = await params.ec2.send(new DescribeInstancesCommand({ InstanceIds: [params.instanceId] }));
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (name === "InvalidInstanceID.NotFound") throw new PowerError("not-found", `instance ${params.instanceId} does not exist`);
      throw new PowerError("cloud-error", `DescribeInstances failed (${name || "unknown error"})`);
    }
    const instance = answer.Reservations?.[0]?.Instances?.[0];
    if (!instance) throw new PowerError("not-found", `instance ${params.instanceId} does not exist`);
    return instance;
  };
  const instance = await describe();
  if (!(instance.Tags ?? []).some((tag) => tag.Key === MANAGED_BY.key && tag.Value === MANAGED_BY.value)) {
    throw new PowerError("not-managed", `instance ${params.instanceId} does not carry the tag ${MANAGED_BY.key}=${MANAGED_BY.value}: ClawStack powers only what it created`);
  }
  const before = awsState(instance.State?.Name);
  if (before === "failed") throw new PowerError("not-found", `instance ${params.instanceId} is ${instance.State?.Name ?? "gone"}`);
  const target = TARGET[params.action];
  if (params.action !== "reboot" && before === target) {
    return { action: params.action, state: before, changed: false, seconds: (Date.now() - started) / 1000 };
  }
  try {
    const ids = { InstanceIds: [params.instanceId] };
    if (params.action === "stop") await params.ec2.send(new StopInstancesCommand(ids));
    else if (params.action === "start") await params.ec2.send(new StartInstancesCommand(ids));
    else await params.ec2.send(new RebootInstancesCommand(ids));
  } catch (error) {
    throw new PowerError("cloud-error", `${params.action} of ${params.instanceId} was refused (${(error as { name?: string }).name ?? "unknown error"})`);
  }
  await waitFor(`instance ${params.instanceId} ${params.action}`, params, async () => awsState((await describe()).State?.Name), target);
  return { action: params.action, state: target, changed: true, seconds: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------
// GCP: Compute Engine (https://cloud.google.com/compute/docs/reference/rest/v1/instances)

/** An authorized JSON request (google-auth-library's client in production, a stand-in in tests); `body` is sent as JSON. */
export type GcpRequest = (method: "GET" | "POST" | "DELETE", url: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

export interface GcpPowerParams extends Wait {
  request: GcpRequest;
  project: string;
  zone: string;
  instance: string;
  action: PowerAction;
  /** Default `https://compute.googleapis.com/compute/v1`. */
  baseUrl?: string;
}

const GCP_METHOD: Record<PowerAction, string> = { stop: "stop", start: "start", reboot: "reset" };

function gcpState(status: unknown): PowerState | "failed" {
  if (status === "RUNNING") return "running";
  if (status === "TERMINATED" || status === "STOPPED") return "stopped";
  return "transitioning";
}

export async function gcpPower(params: GcpPowerParams): Promise<PowerResult> {
  const started = Date.now();
  for (const [field, value, pattern] of [
    ["project", params.project, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/],
    ["zone", params.zone, /^[a-z]+-[a-z]+\d+-[a-z]$/],
    ["instance", params.instance, /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/],
  ] as const) {
    if (!pattern.test(value)) throw new PowerError("not-found", `\`${field}\` is not a valid GCP ${field} name; got ${JSON.stringify(value).slice(0, 70)}`);
  }
  const base = (params.baseUrl ?? "https://compute.googleapis.com/compute/v1").replace(/\/+$/, "");
  const instanceUrl = `${base}/projects/${params.project}/zones/${params.zone}/instances/${params.instance}`;
  const read = async () => {
    const answer = await params.request("GET", instanceUrl);
    if (answer.status === 404) throw new PowerError("not-found", `instance ${params.instance} does not exist in ${params.project}/${params.zone}`);
    if (answer.status !== 200) throw new PowerError("cloud-error", `reading instance ${params.instance} failed (${answer.status})`);
    return answer.body as { status?: unknown; labels?: Record<string, unknown> };
  };
  const instance = await read();
  if (instance.labels?.[GCP_MANAGED_BY_LABEL.key] !== GCP_MANAGED_BY_LABEL.value) {
    throw new PowerError("not-managed", `instance ${params.instance} does not carry the label ${GCP_MANAGED_BY_LABEL.key}=${GCP_MANAGED_BY_LABEL.value}: ClawStack powers only what it created`);
  }
  const before = gcpState(instance.status);
  const target = TARGET[params.action];
  if (params.action !== "reboot" && before === target) {
    return { action: params.action, state: before as PowerState, changed: false, seconds: (Date.now() - started) / 1000 };
  }
  const posted = await params.request("POST", `${instanceUrl}/${GCP_METHOD[params.action]}`);
  if (posted.status !== 200) throw new PowerError("cloud-error", `instances.${GCP_METHOD[params.action]} was refused (${posted.status})`);
  const operation = posted.body as { name?: unknown };
  if (typeof operation.name !== "string" || !/^[\w-]{1,100}$/.test(operation.name)) {
    throw new PowerError("cloud-error", `instances.${GCP_METHOD[params.action]}: the answer names no operation`);
  }
  const operationUrl = `${base}/projects/${params.project}/zones/${params.zone}/operations/${operation.name}`;
  await waitFor(`operation ${operation.name}`, params, async () => {
    const answer = await params.request("GET", operationUrl);
    const body = answer.body as { status?: unknown; error?: unknown };
    if (body.status !== "DONE") return "transitioning";
    return body.error ? "failed" : target;
  }, target);
  await waitFor(`instance ${params.instance} ${params.action}`, params, async () => gcpState((await read()).status), target);
  return { action: params.action, state: target, changed: true, seconds: (Date.now() - started) / 1000 };
}
