import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_PROVISIONER_PERMISSIONS } from "../../../components/access/aws-permissions.js";
import { allowedActions, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import { DIGITALOCEAN_REQUIRED_SCOPES } from "../../../runtime/digitalocean-token-check.js";
import { GCP_PROVISIONER_PERMISSIONS, gcpProvisionerPermissions, gcpWorkloadPermissions } from "../../../components/access/gcp-permissions.js";

/** docs/connect-your-cloud.md must show the customer everything the roles and the token grant. */
const DOC = readFileSync(join(__dirname, "..", "..", "..", "docs", "connect-your-cloud.md"), "utf8");

/** `compute.instances.{create,get}` → `compute.instances.create`, `compute.instances.get`. */
function expandBraces(text: string): string {
  return text.replace(/([\w.]*)\{([\w,]+)\}([\w.]*)/g, (_match, head: string, list: string, tail: string) =>
    list
      .split(",")
      .map((item) => `${head}${item}${tail}`)
      .join(" "),
  );
}

describe("docs/connect-your-cloud.md", () => {
  it("names every AWS action the provisioner role allows, and every resource type of the table", () => {
    const actions = new Set(allowedActions(renderPermissionsPolicy({ partition: "aws", accountId: "123456789012", imageOwners: ["amazon"] })));
    const missing = [...actions].filter((action) => !DOC.includes(`\`${action}\``));
    expect(missing).toEqual([]);
    for (const type of Object.keys(AWS_PROVISIONER_PERMISSIONS)) expect(DOC).toContain(`\`${type}\``);
  });

  it("names every GCP permission of both custom roles, and every resource type of the table", () => {
    const expanded = expandBraces(DOC);
    const missing = [...gcpProvisionerPermissions(), ...gcpWorkloadPermissions()].filter(
      (permission) => !new RegExp(`(^|[\\s\`(])${permission.replaceAll(".", "\\.")}($|[\\s\`),])`, "m").test(expanded),
    );
    expect(missing).toEqual([]);
    for (const type of Object.keys(GCP_PROVISIONER_PERMISSIONS)) expect(DOC).toContain(`\`${type}\``);
  });

  it("lists every DigitalOcean scope the token check asks for", () => {
    for (const requirement of DIGITALOCEAN_REQUIRED_SCOPES) expect(DOC).toContain(`\`${requirement.scope}\``);
  });
});
