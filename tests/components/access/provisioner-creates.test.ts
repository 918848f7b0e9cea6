import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_IMAGE_OWNERS, type PolicyDocument, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import type { PlannedResource, SynthResult } from "../../../program/synth-types.js";
import { synthHost } from "../host/support.js";
import { type AuthorizationRequest, policyAllows } from "./permissions-eval.js";

/**
 * The IAM calls the AWS host and snapshot components make when the provisioner
 * deploys them, built from the inputs they register under the synth mocks,
 * evaluated against the provisioner role's rendered permissions policy. If a
 * component drops the path or the permissions boundary the policy requires (or
 * the policy changes what it requires), the call is refused here.
 */

/** The synth mocks' account (program/mocks.ts answers getCallerIdentity with it). */
const ACCOUNT = "123456789012";
const ROLE = "aws:iam/role:Role";
const PROFILE = "aws:iam/instanceProfile:InstanceProfile";

type Tags = Record<string, string>;

function tagContext(tags: unknown, prefix: "aws:RequestTag" | "aws:ResourceTag"): Record<string, string | string[]> {
  const entries = Object.entries((tags ?? {}) as Tags);
  const context: Record<string, string | string[]> = Object.fromEntries(entries.map(([key, value]) => [`${prefix}/${key}`, value]));
  if (prefix === "aws:RequestTag" && entries.length > 0) context["aws:TagKeys"] = entries.map(([key]) => key);
  return context;
}

/** The ARN AWS gives a role or instance profile: its path is part of it (the mocks' ARNs leave it out). */
function iamArn(kind: "role" | "instance-profile", resource: PlannedResource): string {
  return `arn:aws:iam::${ACCOUNT}:${kind}${String(resource.inputs.path ?? "/")}${resource.name}`;
}

/** The role a RolePolicy, attachment or profile names by its physical name (`<logical>-<suffix>` under the mocks). */
function roleNamed(result: SynthResult, physical: unknown): PlannedResource {
  const role = result.resources.find((resource) => resource.type === ROLE && String(physical).startsWith(`${resource.name}-`));
  if (!role) throw new Error(`no role registered for ${String(physical)}`);
  return role;
}

function roleByArn(result: SynthResult, arn: unknown): PlannedResource {
  return roleNamed(result, String(arn).split("/").pop());
}

/** Every IAM authorization the provisioner needs to create what the synthesized stack registers. */
export function iamCreateRequests(result: SynthResult): { what: string; request: AuthorizationRequest }[] {
  const requests: { what: string; request: AuthorizationRequest }[] = [];
  const add = (what: string, action: string, resource: string, context: AuthorizationRequest["context"]) =>
    requests.push({ what: `${what}: ${action}`, request: { action, resource, context } });
  const boundaryOf = (role: PlannedResource): Record<string, string> =>
    role.inputs.permissionsBoundary === undefined ? {} : { "iam:PermissionsBoundary": String(role.inputs.permissionsBoundary) };
  for (const resource of result.resources) {
    const what = `${resource.type} ${resource.name}`;
    switch (resource.type) {
      case ROLE: {
        const context = { ...tagContext(resource.inputs.tags, "aws:RequestTag"), ...boundaryOf(resource) };
        add(what, "iam:CreateRole", iamArn("role", resource), context);
        add(what, "iam:TagRole", iamArn("role", resource), context);
        break;
      }
      case "aws:iam/rolePolicy:RolePolicy": {
        const role = roleNamed(result, resource.inputs.role);
        add(what, "iam:PutRolePolicy", iamArn("role", role), { ...tagContext(role.inputs.tags, "aws:ResourceTag"), ...boundaryOf(role) });
        break;
      }
      case "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        const role = roleNamed(result, resource.inputs.role);
        add(what, "iam:AttachRolePolicy", iamArn("role", role), {
          ...tagContext(role.inputs.tags, "aws:ResourceTag"),
          ...boundaryOf(role),
          "iam:PolicyARN": String(resource.inputs.policyArn),
        });
        break;
      }
      case PROFILE: {
        const arn = iamArn("instance-profile", resource);
        add(what, "iam:CreateInstanceProfile", arn, tagContext(resource.inputs.tags, "aws:RequestTag"));
        add(what, "iam:TagInstanceProfile", arn, tagContext(resource.inputs.tags, "aws:RequestTag"));
        add(what, "iam:AddRoleToInstanceProfile", arn, tagContext(resource.inputs.tags, "aws:ResourceTag"));
        // RunInstances with this profile passes its role to EC2.
        add(what, "iam:PassRole", iamArn("role", roleNamed(result, resource.inputs.role)), { "iam:PassedToService": "ec2.amazonaws.com" });
        break;
      }
      case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
        add(what, "iam:PassRole", iamArn("role", roleByArn(result, resource.inputs.executionRoleArn)), { "iam:PassedToService": "dlm.amazonaws.com" });
        break;
      default:
        break;
    }
  }
  return requests;
}

function refused(policy: PolicyDocument, requests: { what: string; request: AuthorizationRequest }[]): string[] {
  return requests.filter(({ request }) => !policyAllows(policy, request)).map(({ what }) => what);
}

describe("the provisioner role may create the IAM roles the AWS host and snapshots register", () => {
  const policy = renderPermissionsPolicy({ partition: "aws", accountId: ACCOUNT, imageOwners: DEFAULT_IMAGE_OWNERS });
  let stack: SynthResult;
  beforeAll(async () => {
    // A gateway token gives the host its role and instance profile; snapshots are on by default (the DLM role).
    // Deployed by the provisioner, the host role carries the workload boundary `aws-access` creates (the
    // stack's `awsPermissionsBoundaryArn`; without it the role has no boundary, for accounts without aws-access).
    stack = await synthHost("aws", {
      gatewayToken: "a-gateway-token-given-as-a-pulumi-secret-0123456789",
      awsPermissionsBoundaryArn: `arn:aws:iam::${ACCOUNT}:policy/claw-cloud/claw-cloud-workload-boundary`,
    });
  });

  it("registers the host role, its profile and the DLM role under their paths, the host role with the boundary", () => {
    const roles = stack.resources.filter((resource) => resource.type === ROLE);
    expect(roles.map((role) => [role.name, role.inputs.path, role.inputs.permissionsBoundary])).toEqual([
      ["claw-host", "/claw-cloud/host/", `arn:aws:iam::${ACCOUNT}:policy/claw-cloud/claw-cloud-workload-boundary`],
      ["claw-snapshots-dlm", "/claw-cloud/snapshots/", undefined],
    ]);
    expect(stack.resources.filter((resource) => resource.type === PROFILE).map((profile) => profile.inputs.path)).toEqual(["/claw-cloud/host/"]);
  });

  it("allows every IAM call those creates make, by the rendered permissions policy", () => {
    const requests = iamCreateRequests(stack);
    // Sanity: all five kinds of call were built (a stack without the role would pass vacuously).
    expect(new Set(requests.map(({ request }) => request.action))).toEqual(
      new Set(["iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:PassRole"]),
    );
    expect(refused(policy, requests)).toEqual([]);
  });

  it("refuses the same calls when a role loses its path or the host role its boundary", () => {
    const strip = (type: string, field: "path" | "permissionsBoundary"): SynthResult => ({
      ...stack,
      resources: stack.resources.map((resource) => {
        if (resource.type !== type) return resource;
        const { [field]: _dropped, ...inputs } = resource.inputs;
        return { ...resource, inputs };
      }),
    });
    expect(refused(policy, iamCreateRequests(strip(ROLE, "permissionsBoundary")))).toEqual([
      "aws:iam/role:Role claw-host: iam:CreateRole",
      "aws:iam/rolePolicy:RolePolicy claw-gateway-token: iam:PutRolePolicy",
    ]);
    // Sorted: the order resources register in follows when their inputs resolve.
    expect(refused(policy, iamCreateRequests(strip(ROLE, "path"))).sort()).toEqual(
      [
        "aws:iam/role:Role claw-host: iam:CreateRole",
        "aws:iam/role:Role claw-host: iam:TagRole",
        "aws:iam/rolePolicy:RolePolicy claw-gateway-token: iam:PutRolePolicy",
        "aws:iam/instanceProfile:InstanceProfile claw-host: iam:PassRole",
        "aws:iam/role:Role claw-snapshots-dlm: iam:CreateRole",
        "aws:iam/role:Role claw-snapshots-dlm: iam:TagRole",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment claw-snapshots-dlm: iam:AttachRolePolicy",
        "aws:dlm/lifecyclePolicy:LifecyclePolicy claw-snapshots-state: iam:PassRole",
      ].sort(),
    );
    expect(refused(policy, iamCreateRequests(strip(PROFILE, "path")))).toEqual([
      "aws:iam/instanceProfile:InstanceProfile claw-host: iam:CreateInstanceProfile",
      "aws:iam/instanceProfile:InstanceProfile claw-host: iam:TagInstanceProfile",
      "aws:iam/instanceProfile:InstanceProfile claw-host: iam:AddRoleToInstanceProfile",
    ]);
  });

  it("refuses an untagged role and a managed policy other than DLM's", () => {
    const role = iamCreateRequests(stack).find(({ what }) => what === "aws:iam/role:Role claw-snapshots-dlm: iam:CreateRole")!.request;
    expect(policyAllows(policy, role)).toBe(true);
    expect(policyAllows(policy, { ...role, context: {} })).toBe(false);
    const attach = iamCreateRequests(stack).find(({ request }) => request.action === "iam:AttachRolePolicy")!.request;
    expect(policyAllows(policy, { ...attach, context: { ...attach.context, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" } })).toBe(false);
    const pass = iamCreateRequests(stack).find(({ what }) => what.includes("LifecyclePolicy"))!.request;
    expect(policyAllows(policy, { ...pass, context: { "iam:PassedToService": "ec2.amazonaws.com" } })).toBe(false);
  });
});

/**
 * How the root volume gets its tags: `volumeTags` go into RunInstances'
 * TagSpecifications (authorized as `ec2:CreateTags` with `ec2:CreateAction` =
 * `RunInstances`); `rootBlockDevice.tags` are a separate CreateTags after launch.
 */
function rootVolumeTagRequests(stack: SynthResult): AuthorizationRequest[] {
  const instance = stack.resources.find((resource) => resource.type === "aws:ec2/instance:Instance");
  if (!instance) throw new Error("no instance registered");
  const resource = `arn:aws:ec2:eu-west-1:${ACCOUNT}:volume/vol-0123456789abcdef0`;
  const requests: AuthorizationRequest[] = [];
  if (instance.inputs.volumeTags !== undefined) {
    requests.push({ action: "ec2:CreateTags", resource, context: { ...tagContext(instance.inputs.volumeTags, "aws:RequestTag"), "ec2:CreateAction": "RunInstances" } });
  }
  const afterLaunch = (instance.inputs.rootBlockDevice as { tags?: unknown } | undefined)?.tags;
  if (afterLaunch !== undefined) requests.push({ action: "ec2:CreateTags", resource, context: tagContext(afterLaunch, "aws:RequestTag") });
  return requests;
}

describe("the provisioner role may tag the AWS host's root volume", () => {
  const policy = renderPermissionsPolicy({ partition: "aws", accountId: ACCOUNT, imageOwners: DEFAULT_IMAGE_OWNERS });

  it("tags it ManagedBy=claw-cloud in the RunInstances call, which the policy allows", async () => {
    const requests = rootVolumeTagRequests(await synthHost("aws"));
    expect(requests).toHaveLength(1);
    expect(requests[0]!.context["aws:RequestTag/ManagedBy"]).toBe("claw-cloud");
    expect(requests.map((request) => policyAllows(policy, request))).toEqual([true]);
    // The launch itself, on the root volume it creates: request-tag scoped, so untagged it is refused.
    const launch = { action: "ec2:RunInstances", resource: requests[0]!.resource };
    const { ["ec2:CreateAction"]: _createAction, ...requestTags } = requests[0]!.context;
    expect(policyAllows(policy, { ...launch, context: requestTags })).toBe(true);
    expect(policyAllows(policy, { ...launch, context: {} })).toBe(false);
  });

  it("would be refused tagging it after launch (rootBlockDevice.tags)", () => {
    const request = { action: "ec2:CreateTags", resource: `arn:aws:ec2:eu-west-1:${ACCOUNT}:volume/vol-0123456789abcdef0` };
    expect(policyAllows(policy, { ...request, context: tagContext({ ManagedBy: "claw-cloud" }, "aws:RequestTag") })).toBe(false);
    expect(policyAllows(policy, { ...request, context: { ...tagContext({ ManagedBy: "claw-cloud" }, "aws:RequestTag"), "ec2:CreateAction": "RunInstances" } })).toBe(true);
  });
});
