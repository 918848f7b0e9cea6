/**
 * The cloud firewall's half of a support grant against stand-ins of each
 * cloud's API on loopback: DigitalOcean's firewall rules API, EC2's query API
 * (through the real AWS SDK client, XML answers as EC2 sends them) and the
 * Compute Engine firewalls API. Each stand-in keeps its rules, so the tests
 * assert on what the cloud holds afterwards, not on what the code sent.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { EC2Client } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import type { GcpRequest } from "../../runtime/power.js";
import {
  SupportFirewallError,
  closeAwsSupportRule,
  closeDigitalOceanSupportRule,
  closeGcpSupportRule,
  gcpNetworkPath,
  gcpSupportRuleNames,
  openAwsSupportRule,
  openDigitalOceanSupportRule,
  openGcpSupportRule,
  sourcesToClose,
  supportSources,
} from "../../runtime/support-firewall.js";
import { standInServers } from "./stand-in-server.js";

const serve = standInServers();

describe("sources", () => {
  it("takes strict CIDR blocks only, never /0 or host bits", () => {
    expect(supportSources(["198.51.100.0/24", "2001:db8::/48", "198.51.100.0/24"])).toEqual(["198.51.100.0/24", "2001:db8::/48"]);
    expect(() => supportSources(["0.0.0.0/0"])).toThrow(/narrower than \/0/);
    expect(() => supportSources(["::/0"])).toThrow(/narrower than \/0/);
    expect(() => supportSources(["198.51.100.7/24"])).toThrow(/`sources\[0\]` must be a network address/);
    expect(() => supportSources(["not-a-cidr"])).toThrow(SupportFirewallError);
    expect(() => supportSources([])).toThrow(/at least one/);
  });

  it("leaves open what another grant or the stack still needs", () => {
    expect(sourcesToClose(["198.51.100.0/24", "203.0.113.7/32"], ["203.0.113.7", "192.0.2.0/24"])).toEqual(["198.51.100.0/24"]);
  });
});

describe("GCP rule names", () => {
  it("are valid GCP names (<= 63, [a-z]([-a-z0-9]*[a-z0-9])?) for any grant id, distinct per grant and family", () => {
    const pattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
    const seen = new Set<string>();
    const ids = ["sgr_", "sgr_AAAAAAAAAAAAAAAAAAAAAA", "sgr_-_-_-_-_-_-_-_-_-_-_", "Z".repeat(300), "ü€", ...Array.from({ length: 500 }, () => `sgr_${randomBytes(16).toString("base64url")}`)];
    for (const id of ids) {
      const names = gcpSupportRuleNames(id);
      for (const name of [names.ipv4, names.ipv6]) {
        expect(name).toMatch(pattern);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name.startsWith("clawstack-support-")).toBe(true);
        seen.add(name);
      }
    }
    expect(seen.size).toBe(ids.length * 2);
    expect(gcpSupportRuleNames("sgr_x")).toEqual(gcpSupportRuleNames("sgr_x"));
    expect(gcpSupportRuleNames("sgr_x").ipv4).not.toBe(gcpSupportRuleNames("sgr_X").ipv4);
  });

  it("turns a network name into the path the firewall API takes", () => {
    expect(gcpNetworkPath("claw-project-1", "default")).toBe("projects/claw-project-1/global/networks/default");
    expect(gcpNetworkPath("claw-project-1", "https://www.googleapis.com/compute/v1/projects/shared-vpc-1/global/networks/vpc")).toBe("projects/shared-vpc-1/global/networks/vpc");
    expect(() => gcpNetworkPath("claw-project-1", "../x")).toThrow(/`network`/);
  });
});

describe("DigitalOcean: the host's Cloud Firewall", () => {
  const TOKEN = `dop_v1_${"b".repeat(64)}`;
  const FIREWALL = "bb4b2611-3d72-467b-8602-280330ecd65c";

  function cloud(options: { dropletTags?: string[]; dropletIds?: number[]; refuseDelete?: boolean } = {}) {
    const state = {
      exists: true,
      rules: [
        { protocol: "tcp", ports: "3000", sources: { addresses: ["203.0.113.0/24"] } },
      ] as { protocol: string; ports: string; sources: { addresses: string[] } }[],
      calls: [] as string[],
      authorized: true,
    };
    const handler = (req: IncomingMessage, body: string) => {
      state.authorized &&= req.headers.authorization === `Bearer ${TOKEN}`;
      state.calls.push(`${req.method} ${req.url}`);
      const path = `/v2/firewalls/${FIREWALL}`;
      if (!state.exists && req.url?.startsWith(path)) return { status: 404, body: JSON.stringify({ id: "not_found", message: "The resource you were accessing could not be found." }) };
      if (req.method === "GET" && req.url === path) {
        return { status: 200, body: JSON.stringify({ firewall: { id: FIREWALL, droplet_ids: options.dropletIds ?? [42], inbound_rules: state.rules } }) };
      }
      if (req.method === "GET" && req.url === "/v2/droplets/42") return { status: 200, body: JSON.stringify({ droplet: { id: 42, tags: options.dropletTags ?? ["ManagedBy:claw-cloud"] } }) };
      if (req.url === `${path}/rules`) {
        const rules = (JSON.parse(body) as { inbound_rules: { protocol: string; ports: string; sources: { addresses: string[] } }[] }).inbound_rules;
        for (const rule of rules) {
          if (req.method === "POST") state.rules.push(rule);
          else if (!options.refuseDelete) {
            for (const existing of state.rules.filter((r) => r.protocol === rule.protocol && r.ports === rule.ports)) {
              existing.sources.addresses = existing.sources.addresses.filter((address) => !rule.sources.addresses.includes(address));
            }
          }
        }
        state.rules = state.rules.filter((rule) => rule.sources.addresses.length > 0);
        return options.refuseDelete && req.method === "DELETE" ? { status: 422, body: JSON.stringify({ id: "unprocessable_entity", message: "nope" }) } : { status: 204, body: "" };
      }
      return { status: 404, body: "{}" };
    };
    const ssh = () => state.rules.filter((rule) => rule.ports === "22").flatMap((rule) => rule.sources.addresses).sort();
    return { state, handler, ssh };
  }

  it("opens tcp/22 from exactly the sources, once, and closes it again leaving the other rules", async () => {
    const { state, handler, ssh } = cloud();
    const baseUrl = await serve(handler);
    const params = { token: TOKEN, firewallId: FIREWALL, dropletId: 42, sources: ["198.51.100.0/24", "2001:db8::/48"], baseUrl };
    expect(await openDigitalOceanSupportRule(params)).toMatchObject({ changed: true });
    expect(ssh()).toEqual(["198.51.100.0/24", "2001:db8::/48"]);
    expect(await openDigitalOceanSupportRule(params)).toMatchObject({ changed: false });
    expect(state.calls.filter((call) => call.startsWith("POST"))).toHaveLength(1);

    expect(await closeDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, sources: ["198.51.100.0/24"], baseUrl })).toMatchObject({ changed: true });
    expect(ssh()).toEqual(["2001:db8::/48"]);
    expect(state.rules.find((rule) => rule.ports === "3000")?.sources.addresses).toEqual(["203.0.113.0/24"]);
    // Already gone: success. Firewall gone: success.
    expect(await closeDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, sources: ["198.51.100.0/24"], baseUrl })).toMatchObject({ detail: expect.stringMatching(/closed/) });
    state.exists = false;
    expect(await closeDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, sources: ["2001:db8::/48"], baseUrl })).toMatchObject({ changed: false });
    expect(state.authorized).toBe(true);
  });

  it("refuses a firewall that does not guard the droplet, a droplet without the marker, a missing firewall, /0", async () => {
    const sources = ["198.51.100.0/24"];
    const refusals: [{ dropletIds?: number[]; dropletTags?: string[] }, string][] = [
      [{ dropletIds: [7] }, "not-managed"],
      [{ dropletTags: ["web"] }, "not-managed"],
    ];
    for (const [options, code] of refusals) {
      const { state, handler } = cloud(options);
      const baseUrl = await serve(handler);
      await expect(openDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, dropletId: 42, sources, baseUrl })).rejects.toMatchObject({ code });
      expect(state.calls.filter((call) => call.startsWith("POST"))).toEqual([]);
    }
    const { state, handler } = cloud();
    state.exists = false;
    const baseUrl = await serve(handler);
    await expect(openDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, dropletId: 42, sources, baseUrl })).rejects.toMatchObject({ code: "not-found" });
    await expect(openDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, dropletId: 42, sources: ["0.0.0.0/0"], baseUrl })).rejects.toMatchObject({ code: "bad-source" });
    await expect(openDigitalOceanSupportRule({ token: TOKEN, firewallId: "../x", dropletId: 42, sources, baseUrl })).rejects.toThrow(/`firewallId`/);
  });

  it("fails a close whose removal was refused and the rule is still there, naming the sources and never the token", async () => {
    const { handler, ssh } = cloud({ refuseDelete: true });
    const baseUrl = await serve(handler);
    await openDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, dropletId: 42, sources: ["198.51.100.0/24"], baseUrl });
    const failed = await closeDigitalOceanSupportRule({ token: TOKEN, firewallId: FIREWALL, sources: ["198.51.100.0/24"], baseUrl }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "cloud-error" });
    expect(String((failed as Error).message)).toMatch(/198\.51\.100\.0\/24 is still open/);
    expect(String((failed as Error).message)).not.toContain(TOKEN);
    expect(ssh()).toEqual(["198.51.100.0/24"]);
  });
});

describe("AWS: the host's security group through the AWS SDK", () => {
  const GROUP = "sg-0123456789abcdef0";

  function ec2(tags: Record<string, string>) {
    const cloud = { rules: [] as { cidr: string; description: string }[], calls: [] as string[] };
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const xml = (body: string) => ({ status: 200, type: "text/xml;charset=UTF-8", body: `<?xml version="1.0" encoding="UTF-8"?>${body}` });
    const error = (code: string) => ({
      status: 400,
      type: "text/xml",
      body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${code}</Message></Error></Errors><RequestID>r</RequestID></Response>`,
    });
    const handler = (_req: IncomingMessage, body: string) => {
      const form = new URLSearchParams(body);
      const action = form.get("Action") ?? "";
      if ((form.get("GroupId.1") ?? form.get("GroupId")) !== GROUP) return error("InvalidGroup.NotFound");
      if (action === "DescribeSecurityGroups") {
        const tagSet = Object.entries(tags).map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`).join("");
        return xml(`<DescribeSecurityGroupsResponse ${ns}><requestId>r</requestId><securityGroupInfo><item><groupId>${GROUP}</groupId><tagSet>${tagSet}</tagSet></item></securityGroupInfo></DescribeSecurityGroupsResponse>`);
      }
      cloud.calls.push(action);
      if (form.get("IpPermissions.1.IpProtocol") !== "tcp" || form.get("IpPermissions.1.FromPort") !== "22" || form.get("IpPermissions.1.ToPort") !== "22") return error("InvalidParameterValue");
      const cidr = form.get("IpPermissions.1.IpRanges.1.CidrIp") ?? form.get("IpPermissions.1.Ipv6Ranges.1.CidrIpv6") ?? "";
      const description = form.get("IpPermissions.1.IpRanges.1.Description") ?? form.get("IpPermissions.1.Ipv6Ranges.1.Description") ?? "";
      const present = cloud.rules.some((rule) => rule.cidr === cidr);
      if (action === "AuthorizeSecurityGroupIngress") {
        if (present) return error("InvalidPermission.Duplicate");
        cloud.rules.push({ cidr, description });
      } else if (action === "RevokeSecurityGroupIngress") {
        if (!present) return error("InvalidPermission.NotFound");
        cloud.rules = cloud.rules.filter((rule) => rule.cidr !== cidr);
      } else return error("InvalidAction");
      return xml(`<${action}Response ${ns}><requestId>r</requestId><return>true</return></${action}Response>`);
    };
    return { cloud, handler };
  }
  const client = (endpoint: string) =>
    new EC2Client({ region: "eu-central-1", endpoint, credentials: { accessKeyId: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: "x".repeat(40) }, maxAttempts: 1 });

  it("authorizes tcp/22 per source with the grant's description, idempotently, and revokes exactly those", async () => {
    const { cloud, handler } = ec2({ ManagedBy: "claw-cloud" });
    const endpoint = await serve(handler);
    const params = { ec2: client(endpoint), securityGroupId: GROUP, grantId: "sgr_AbC-12_x", sources: ["198.51.100.0/24", "2001:db8::/48"] };
    expect(await openAwsSupportRule(params)).toMatchObject({ changed: true });
    expect(cloud.rules).toEqual([
      { cidr: "198.51.100.0/24", description: "clawstack support grant sgr_AbC-12_x" },
      { cidr: "2001:db8::/48", description: "clawstack support grant sgr_AbC-12_x" },
    ]);
    expect(await openAwsSupportRule(params)).toMatchObject({ changed: false });
    expect(cloud.rules).toHaveLength(2);
    expect(await closeAwsSupportRule({ ...params, sources: ["2001:db8::/48"] })).toMatchObject({ changed: true });
    expect(cloud.rules.map((rule) => rule.cidr)).toEqual(["198.51.100.0/24"]);
    expect(await closeAwsSupportRule({ ...params, sources: ["2001:db8::/48"] })).toMatchObject({ changed: false });
    // The group itself gone: nothing left to close.
    expect(await closeAwsSupportRule({ ...params, securityGroupId: "sg-0fffffffffffffff0" })).toMatchObject({ changed: false });
  });

  it("refuses a group without ManagedBy=claw-cloud, a missing group and a malformed id before authorizing anything", async () => {
    const { cloud, handler } = ec2({ Name: "someone-elses" });
    const endpoint = await serve(handler);
    const params = { ec2: client(endpoint), securityGroupId: GROUP, grantId: "sgr_1", sources: ["198.51.100.0/24"] };
    await expect(openAwsSupportRule(params)).rejects.toMatchObject({ code: "not-managed" });
    await expect(openAwsSupportRule({ ...params, securityGroupId: "sg-0fffffffffffffff0" })).rejects.toMatchObject({ code: "not-found" });
    await expect(openAwsSupportRule({ ...params, securityGroupId: "sg-x; rm" })).rejects.toThrow(/`securityGroupId`/);
    await expect(openAwsSupportRule({ ...params, sources: ["::/0"] })).rejects.toMatchObject({ code: "bad-source" });
    expect(cloud.calls).toEqual([]);
  });
});

describe("GCP: a firewall per grant on the host's network and tag", () => {
  const PROJECT = "claw-project-1";
  const INSTANCE = `/projects/${PROJECT}/zones/europe-west3-a/instances/openclaw-host`;

  function compute(instance: { labels: Record<string, string>; tags: string[] }) {
    const cloud = { firewalls: new Map<string, Record<string, unknown>>(), opPolls: 0, pending: [] as (() => void)[] };
    const handler = (req: IncomingMessage, body: string) => {
      const path = req.url ?? "";
      if (req.method === "GET" && path === INSTANCE) return { status: 200, body: JSON.stringify({ labels: instance.labels, tags: { items: instance.tags } }) };
      if (req.method === "POST" && path === `/projects/${PROJECT}/global/firewalls`) {
        const rule = JSON.parse(body) as Record<string, unknown>;
        if (cloud.firewalls.has(String(rule.name))) return { status: 409, body: JSON.stringify({ error: { code: 409, message: "alreadyExists" } }) };
        cloud.pending.push(() => cloud.firewalls.set(String(rule.name), rule));
        return { status: 200, body: JSON.stringify({ name: `operation-${cloud.pending.length}`, status: "RUNNING" }) };
      }
      const match = new RegExp(`^/projects/${PROJECT}/global/firewalls/([a-z0-9-]+)$`).exec(path);
      if (req.method === "DELETE" && match) {
        if (!cloud.firewalls.has(match[1]!)) return { status: 404, body: JSON.stringify({ error: { code: 404 } }) };
        cloud.pending.push(() => cloud.firewalls.delete(match[1]!));
        return { status: 200, body: JSON.stringify({ name: `operation-${cloud.pending.length}`, status: "RUNNING" }) };
      }
      if (req.method === "GET" && path.startsWith(`/projects/${PROJECT}/global/operations/`)) {
        cloud.opPolls += 1;
        if (cloud.opPolls % 2 === 1) return { status: 200, body: JSON.stringify({ status: "RUNNING" }) };
        for (const apply of cloud.pending.splice(0)) apply();
        return { status: 200, body: JSON.stringify({ status: "DONE" }) };
      }
      return { status: 404, body: "{}" };
    };
    return { cloud, handler };
  }
  const requestTo = (): GcpRequest => async (method, url, body) => {
    const answer = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
    return { status: answer.status, body: await answer.json() };
  };
  const target = { project: PROJECT, zone: "europe-west3-a", instance: "openclaw-host", network: "default", targetTag: "openclaw-host-openclaw", pollMs: 5, waitMs: 5_000 };

  it("creates one rule per family with exactly the sources, waits for it, keeps other grants' rules, and deletes idempotently", async () => {
    const { cloud, handler } = compute({ labels: { "managed-by": "claw-cloud" }, tags: ["openclaw-host-openclaw"] });
    const baseUrl = await serve(handler);
    const first = { request: requestTo(), baseUrl, ...target, grantId: "sgr_first", sources: ["198.51.100.0/24", "2001:db8::/48"] };
    const second = { ...first, grantId: "sgr_second", sources: ["192.0.2.0/24"] };
    expect(await openGcpSupportRule(first)).toMatchObject({ changed: true });
    expect(await openGcpSupportRule(second)).toMatchObject({ changed: true });
    const names = gcpSupportRuleNames("sgr_first");
    expect(cloud.firewalls.get(names.ipv4)).toMatchObject({
      network: `projects/${PROJECT}/global/networks/default`,
      direction: "INGRESS",
      allowed: [{ IPProtocol: "tcp", ports: ["22"] }],
      sourceRanges: ["198.51.100.0/24"],
      targetTags: ["openclaw-host-openclaw"],
    });
    expect(cloud.firewalls.get(names.ipv6)).toMatchObject({ sourceRanges: ["2001:db8::/48"] });
    expect(await openGcpSupportRule(first)).toMatchObject({ changed: false });

    expect(await closeGcpSupportRule(first)).toMatchObject({ changed: true });
    expect([...cloud.firewalls.keys()]).toEqual([gcpSupportRuleNames("sgr_second").ipv4]);
    expect(await closeGcpSupportRule(first)).toMatchObject({ changed: false });
  });

  it("refuses an instance without the label or the tag, and bad names, before creating anything", async () => {
    const refused: { labels: Record<string, string>; tags: string[] }[] = [
      { labels: {}, tags: ["openclaw-host-openclaw"] },
      { labels: { "managed-by": "claw-cloud" }, tags: ["other"] },
    ];
    for (const instance of refused) {
      const { cloud, handler } = compute(instance);
      const baseUrl = await serve(handler);
      await expect(openGcpSupportRule({ request: requestTo(), baseUrl, ...target, grantId: "sgr_1", sources: ["198.51.100.0/24"] })).rejects.toMatchObject({ code: "not-managed" });
      expect(cloud.firewalls.size).toBe(0);
    }
    const { handler } = compute({ labels: { "managed-by": "claw-cloud" }, tags: ["openclaw-host-openclaw"] });
    const baseUrl = await serve(handler);
    await expect(openGcpSupportRule({ request: requestTo(), baseUrl, ...target, targetTag: "Bad Tag", grantId: "sgr_1", sources: ["198.51.100.0/24"] })).rejects.toThrow(/`network tag`/);
  });
});
