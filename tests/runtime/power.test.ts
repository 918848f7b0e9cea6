/**
 * Power actions against stand-ins of each cloud's API on loopback: the
 * DigitalOcean droplet actions API, EC2's query API (through the real AWS SDK
 * client, XML answers as EC2 sends them) and the Compute Engine REST API.
 * Each stand-in moves its instance through the cloud's own intermediate
 * states, so the code must wait for the target state, not trust the first answer.
 */
import type { IncomingMessage } from "node:http";
import { EC2Client } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { PowerError, awsPower, digitalOceanPower, gcpPower, type GcpRequest } from "../../runtime/power.js";
import { standInServers } from "./stand-in-server.js";

const serve = standInServers();

const FAST = { pollMs: 5, waitMs: 5_000 };

describe("DigitalOcean droplet power actions", () => {
  const TOKEN = `dop_v1_${"a".repeat(64)}`;

  function droplet(initial: { status: string; tags: string[]; failShutdown?: boolean }) {
    const state = { status: initial.status, actions: [] as string[], polls: 0, authorized: true };
    const actions = new Map<number, { type: string; polls: number }>();
    return {
      state,
      handler: (req: IncomingMessage, body: string) => {
        state.authorized &&= req.headers.authorization === `Bearer ${TOKEN}`;
        if (req.method === "GET" && req.url === "/v2/droplets/42") {
          return { status: 200, body: JSON.stringify({ droplet: { id: 42, status: state.status, tags: initial.tags } }) };
        }
        if (req.method === "GET" && req.url === "/v2/droplets/7") return { status: 404, body: JSON.stringify({ id: "not_found", message: "The resource you were accessing could not be found." }) };
        if (req.method === "POST" && req.url === "/v2/droplets/42/actions") {
          const { type } = JSON.parse(body) as { type: string };
          state.actions.push(type);
          const id = actions.size + 1;
          actions.set(id, { type, polls: 0 });
          state.status = "new";
          return { status: 201, body: JSON.stringify({ action: { id, status: "in-progress", type } }) };
        }
        const match = /^\/v2\/actions\/(\d+)$/.exec(req.url ?? "");
        const action = match ? actions.get(Number(match[1])) : undefined;
        if (req.method === "GET" && action) {
          action.polls += 1;
          if (action.polls < 3) return { status: 200, body: JSON.stringify({ action: { status: "in-progress" } }) };
          if (action.type === "shutdown" && initial.failShutdown) return { status: 200, body: JSON.stringify({ action: { status: "errored" } }) };
          state.status = action.type === "shutdown" || action.type === "power_off" ? "off" : "active";
          return { status: 200, body: JSON.stringify({ action: { status: "completed" } }) };
        }
        return { status: 404, body: "{}" };
      },
    };
  }

  it("stops gracefully, starts, reboots, and waits for each to finish", async () => {
    const cloud = droplet({ status: "active", tags: ["ManagedBy:claw-cloud", "env:prod"] });
    const baseUrl = await serve(cloud.handler);
    const stop = await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "stop", baseUrl, ...FAST });
    expect(stop).toMatchObject({ state: "stopped", changed: true });
    expect(cloud.state.status).toBe("off");
    expect(await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "stop", baseUrl, ...FAST })).toMatchObject({ changed: false, state: "stopped" });
    expect(await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "start", baseUrl, ...FAST })).toMatchObject({ state: "running", changed: true });
    expect(await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "reboot", baseUrl, ...FAST })).toMatchObject({ state: "running", changed: true });
    expect(cloud.state.actions).toEqual(["shutdown", "power_on", "reboot"]);
    expect(cloud.state.authorized).toBe(true);
  });

  it("cuts the power when a graceful shutdown errors", async () => {
    const cloud = droplet({ status: "active", tags: ["ManagedBy:claw-cloud"], failShutdown: true });
    const baseUrl = await serve(cloud.handler);
    expect(await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "stop", baseUrl, ...FAST })).toMatchObject({ state: "stopped" });
    expect(cloud.state.actions).toEqual(["shutdown", "power_off"]);
  });

  it("refuses a droplet without ClawStack's tag and names a missing one, never echoing the token", async () => {
    const cloud = droplet({ status: "active", tags: ["web"] });
    const baseUrl = await serve(cloud.handler);
    const refused = await digitalOceanPower({ token: TOKEN, dropletId: 42, action: "stop", baseUrl, ...FAST }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PowerError);
    expect(refused).toMatchObject({ code: "not-managed" });
    expect(cloud.state.actions).toEqual([]);
    const missing = await digitalOceanPower({ token: TOKEN, dropletId: 7, action: "start", baseUrl, ...FAST }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "not-found" });
    expect(String((missing as Error).message)).not.toContain(TOKEN);
  });
});

describe("EC2 power actions through the AWS SDK", () => {
  const ID = "i-0123456789abcdef0";

  function ec2(initial: { state: string; tags: Record<string, string> }) {
    const cloud = { state: initial.state, calls: [] as string[], describes: 0 };
    const instanceXml = () =>
      `<item><instanceId>${ID}</instanceId><instanceState><code>0</code><name>${cloud.state}</name></instanceState><tagSet>${Object.entries(initial.tags)
        .map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`)
        .join("")}</tagSet></item>`;
    const xml = (body: string) => ({ status: 200, type: "text/xml;charset=UTF-8", body: `<?xml version="1.0" encoding="UTF-8"?>${body}` });
    let settleIn = 0;
    const handler = (_req: IncomingMessage, body: string) => {
      const form = new URLSearchParams(body);
      const action = form.get("Action") ?? "";
      const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
      if (form.get("InstanceId.1") !== ID) {
        return {
          status: 400,
          type: "text/xml",
          body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>`,
        };
      }
      if (action === "DescribeInstances") {
        cloud.describes += 1;
        if (settleIn > 0 && (settleIn -= 1) === 0) cloud.state = cloud.state === "stopping" ? "stopped" : "running";
        return xml(`<DescribeInstancesResponse ${ns}><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${instanceXml()}</instancesSet></item></reservationSet></DescribeInstancesResponse>`);
      }
      cloud.calls.push(action);
      if (action === "StopInstances" || action === "StartInstances") {
        cloud.state = action === "StopInstances" ? "stopping" : "pending";
        settleIn = 3;
        return xml(`<${action}Response ${ns}><requestId>r</requestId><instancesSet><item><instanceId>${ID}</instanceId><currentState><code>64</code><name>${cloud.state}</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet></${action}Response>`);
      }
      if (action === "RebootInstances") return xml(`<RebootInstancesResponse ${ns}><requestId>r</requestId><return>true</return></RebootInstancesResponse>`);
      return { status: 400, body: "" };
    };
    return { cloud, handler };
  }

  const client = (endpoint: string) =>
    new EC2Client({ region: "eu-central-1", endpoint, credentials: { accessKeyId: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: "x".repeat(40) }, maxAttempts: 1 });

  it("stops, starts and reboots through the SDK and waits for stopped/running", async () => {
    const { cloud, handler } = ec2({ state: "running", tags: { ManagedBy: "claw-cloud", Name: "host" } });
    const endpoint = await serve(handler);
    expect(await awsPower({ ec2: client(endpoint), instanceId: ID, action: "stop", ...FAST })).toMatchObject({ state: "stopped", changed: true });
    expect(cloud.describes).toBeGreaterThanOrEqual(4);
    expect(await awsPower({ ec2: client(endpoint), instanceId: ID, action: "stop", ...FAST })).toMatchObject({ changed: false });
    expect(await awsPower({ ec2: client(endpoint), instanceId: ID, action: "start", ...FAST })).toMatchObject({ state: "running", changed: true });
    expect(await awsPower({ ec2: client(endpoint), instanceId: ID, action: "reboot", ...FAST })).toMatchObject({ state: "running" });
    expect(cloud.calls).toEqual(["StopInstances", "StartInstances", "RebootInstances"]);
  });

  it("refuses an instance without ManagedBy=claw-cloud, an unknown one and a malformed id", async () => {
    const { cloud, handler } = ec2({ state: "running", tags: { Name: "someone-elses" } });
    const endpoint = await serve(handler);
    await expect(awsPower({ ec2: client(endpoint), instanceId: ID, action: "stop", ...FAST })).rejects.toMatchObject({ code: "not-managed" });
    await expect(awsPower({ ec2: client(endpoint), instanceId: "i-0fffffffffffffff0", action: "stop", ...FAST })).rejects.toMatchObject({ code: "not-found" });
    await expect(awsPower({ ec2: client(endpoint), instanceId: "i-xyz; rm", action: "stop", ...FAST })).rejects.toThrow(/`instanceId` must be an EC2 instance id/);
    expect(cloud.calls).toEqual([]);
  });
});

describe("Compute Engine power actions", () => {
  function compute(initial: { status: string; labels: Record<string, string> }) {
    const cloud = { status: initial.status, posts: [] as string[], opPolls: 0 };
    const handler = (req: IncomingMessage) => {
      const path = req.url ?? "";
      const instance = "/projects/claw-project-1/zones/europe-west3-a/instances/openclaw-host";
      if (req.method === "GET" && path === instance) return { status: 200, body: JSON.stringify({ status: cloud.status, labels: initial.labels }) };
      if (req.method === "POST" && path.startsWith(`${instance}/`)) {
        const method = path.slice(instance.length + 1);
        cloud.posts.push(method);
        cloud.status = method === "stop" ? "STOPPING" : "STAGING";
        cloud.opPolls = 0;
        return { status: 200, body: JSON.stringify({ name: `operation-${cloud.posts.length}`, status: "RUNNING" }) };
      }
      if (req.method === "GET" && path.startsWith("/projects/claw-project-1/zones/europe-west3-a/operations/")) {
        cloud.opPolls += 1;
        if (cloud.opPolls < 3) return { status: 200, body: JSON.stringify({ status: "RUNNING" }) };
        cloud.status = cloud.posts.at(-1) === "stop" ? "TERMINATED" : "RUNNING";
        return { status: 200, body: JSON.stringify({ status: "DONE" }) };
      }
      return { status: 404, body: "{}" };
    };
    return { cloud, handler };
  }
  const requestTo = (): GcpRequest => async (method, url) => {
    const answer = await fetch(url, { method });
    return { status: answer.status, body: await answer.json() };
  };
  const target = { project: "claw-project-1", zone: "europe-west3-a", instance: "openclaw-host" };

  it("stops, starts and resets, waiting for the operation and the instance", async () => {
    const { cloud, handler } = compute({ status: "RUNNING", labels: { "managed-by": "claw-cloud" } });
    const baseUrl = await serve(handler);
    expect(await gcpPower({ request: requestTo(), baseUrl, ...target, action: "stop", ...FAST })).toMatchObject({ state: "stopped", changed: true });
    expect(cloud.status).toBe("TERMINATED");
    expect(await gcpPower({ request: requestTo(), baseUrl, ...target, action: "stop", ...FAST })).toMatchObject({ changed: false });
    expect(await gcpPower({ request: requestTo(), baseUrl, ...target, action: "start", ...FAST })).toMatchObject({ state: "running" });
    expect(await gcpPower({ request: requestTo(), baseUrl, ...target, action: "reboot", ...FAST })).toMatchObject({ state: "running" });
    expect(cloud.posts).toEqual(["stop", "start", "reset"]);
  });

  it("refuses an instance without the managed-by label and bad names before any call", async () => {
    const { cloud, handler } = compute({ status: "RUNNING", labels: {} });
    const baseUrl = await serve(handler);
    await expect(gcpPower({ request: requestTo(), baseUrl, ...target, action: "stop", ...FAST })).rejects.toMatchObject({ code: "not-managed" });
    await expect(gcpPower({ request: requestTo(), baseUrl, ...target, instance: "../x", action: "stop", ...FAST })).rejects.toThrow(/`instance` is not a valid GCP instance name/);
    expect(cloud.posts).toEqual([]);
  });

  it("times out naming the state it is stuck in", async () => {
    const baseUrl = await serve(() => ({ status: 200, body: JSON.stringify({ status: "STOPPING", labels: { "managed-by": "claw-cloud" }, name: "op" }) }));
    await expect(gcpPower({ request: requestTo(), baseUrl, ...target, action: "stop", pollMs: 5, waitMs: 50 })).rejects.toMatchObject({ code: "timeout" });
  });
});

describe("the GCP request with the customer's Workload Identity Federation configuration", () => {
  it("builds a client from an external_account configuration and refuses anything else", async () => {
    const { gcpAuthorizedRequest } = await import("../../runtime/gcp-auth.js");
    const config = {
      type: "external_account",
      audience: "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/claw/providers/aws",
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { environment_id: "aws1", regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15" },
    };
    expect(typeof gcpAuthorizedRequest(config)).toBe("function");
    expect(() => gcpAuthorizedRequest({ type: "authorized_user" })).toThrow(/not an external_account configuration/);
  });
});
