import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { synthMocks } from "../../../program/mocks.js";
import { renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import {
  HOST_INSTANCE_PROFILE_ACCESS_ARGS,
  hostRoleAccessArgs,
  SNAPSHOT_ROLE_ACCESS_ARGS,
} from "../../../components/access/workload-roles.js";

/**
 * The args the host and snapshot components spread into their IAM roles must
 * be exactly what the provisioner's policy requires of a role it creates.
 */
function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply((value) => done(value)));
}

describe("workload role args", () => {
  it("give host roles the path and the boundary the provisioner's CreateRole condition names", async () => {
    await pulumi.runtime.setMocks(synthMocks(), "clawstack", "workload-roles-test", false);
    const args = hostRoleAccessArgs();
    const boundary = await resolve(args.permissionsBoundary);
    // The synth mocks answer getCallerIdentity with account 123456789012 and partition aws.
    const policy = renderPermissionsPolicy({ partition: "aws", accountId: "123456789012", imageOwners: ["amazon"] });
    const create = policy.Statement.find((statement) => statement.Sid === "CreateRolesOnlyWithBoundary");
    expect(create?.Condition?.StringEquals?.["iam:PermissionsBoundary"]).toBe(boundary);
    expect(create?.Resource).toEqual([`arn:aws:iam::123456789012:role${args.path}*`]);
    const passToEc2 = policy.Statement.find((statement) => statement.Sid === "PassRoleToEC2");
    expect(passToEc2?.Resource).toBe(`arn:aws:iam::123456789012:role${args.path}*`);
    const profiles = policy.Statement.find((statement) => JSON.stringify(statement.Action).includes("iam:CreateInstanceProfile"));
    expect(profiles?.Resource).toEqual([`arn:aws:iam::123456789012:instance-profile${HOST_INSTANCE_PROFILE_ACCESS_ARGS.path}*`]);
    const passToDlm = policy.Statement.find((statement) => statement.Sid === "PassRoleToDLM");
    expect(passToDlm?.Resource).toBe(`arn:aws:iam::123456789012:role${SNAPSHOT_ROLE_ACCESS_ARGS.path}*`);
  });
});
