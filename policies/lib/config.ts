/**
 * The configuration every ClawStack rule reads through `getConfig()`.
 *
 * Under `pulumi preview --policy-pack policies` it comes from
 * `--policy-pack-config <file>` (one entry per policy ID; print the file for a
 * stack with `npm run policy:review -- --stack <name> --pack-config`). The
 * engine-free reviewer derives it from the stack's config: `clawstack:gatewayCidrs`,
 * `clawstack:sshAccess`, `clawstack:snapshots`, `clawstack:publisherRoleArn` /
 * `clawstack:publisherMember` and `clawstack:policyExemptions`. Missing values
 * are the closed defaults: no gateway CIDRs, no SSH access, snapshots required,
 * no firmware publisher (so nobody may write a bucket), no exemptions.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";

export interface Exemption {
  /** The policy ID the exemption silences. */
  policy: string;
  /** The resource's logical name or URN. */
  resource: string;
  /** Why the exemption is acceptable: at least 20 characters. */
  reason: string;
  /** ISO 8601 date or timestamp after which the exemption stops applying. */
  expires: string;
}

export interface RuleConfig {
  /** CIDRs allowed to reach the gateway's TLS port 3000. */
  gatewayCidrs?: string[];
  /** Whether the stack configures SSH access for its host. */
  sshAccess?: boolean;
  /**
   * `false` only when the stack says `snapshots: {enabled: false}` in so many
   * words: the snapshot rules then report an explicit opt-out instead of a
   * missing schedule. Anything else (absent, `true`, unknown) means required.
   */
  snapshotsEnabled?: boolean;
  /**
   * The principals allowed to write firmware buckets: the AWS publisher role
   * ARN (`clawstack:publisherRoleArn`) and the GCP publisher member
   * (`clawstack:publisherMember`). Empty: no principal may write.
   */
  firmwarePublishers?: string[];
  /** Exemptions; each rule applies those whose `policy` is its own ID. */
  exemptions?: Exemption[];
}

export const MIN_EXEMPTION_REASON = 20;

/**
 * The JSON schema every rule registers for its `--policy-pack-config` entry,
 * so the engine accepts the file `npm run policy:review -- --stack <name>
 * --pack-config` prints.
 */
export const RULE_CONFIG_SCHEMA: PolicyConfigSchema = {
  properties: {
    gatewayCidrs: { type: "array", items: { type: "string" } },
    sshAccess: { type: "boolean" },
    snapshotsEnabled: { type: "boolean" },
    firmwarePublishers: { type: "array", items: { type: "string" } },
    exemptions: {
      type: "array",
      items: {
        type: "object",
        properties: {
          policy: { type: "string" },
          resource: { type: "string" },
          reason: { type: "string" },
          expires: { type: "string" },
        },
      },
    },
  },
};

/** What is wrong with an exemption, or undefined when it may apply. */
export function exemptionProblem(exemption: Partial<Exemption>, now: number = Date.now()): string | undefined {
  if (typeof exemption.resource !== "string" || exemption.resource.length === 0) {
    return "`resource` must name a resource (logical name or URN)";
  }
  const reason = typeof exemption.reason === "string" ? exemption.reason.trim() : "";
  if (reason.length < MIN_EXEMPTION_REASON) {
    return `\`reason\` must explain the exemption in at least ${MIN_EXEMPTION_REASON} characters; got ${reason.length}`;
  }
  const expires = typeof exemption.expires === "string" ? Date.parse(exemption.expires) : Number.NaN;
  if (Number.isNaN(expires)) {
    return `\`expires\` must be an ISO 8601 date; got ${JSON.stringify(exemption.expires ?? null)}`;
  }
  if (expires <= now) return `\`expires\` ${exemption.expires} is in the past`;
  return undefined;
}

/** The exemptions in a rule's config that may silence that rule's violations. */
export function activeExemptionsFor(config: RuleConfig, ruleId: string): Exemption[] {
  const list = Array.isArray(config.exemptions) ? config.exemptions : [];
  return list.filter((exemption) => exemption.policy === ruleId && exemptionProblem(exemption) === undefined);
}
