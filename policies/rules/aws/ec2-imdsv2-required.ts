import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/** The highest PUT response hop limit allowed: 1 keeps the token on the host itself. */
export const MAX_HOP_LIMIT = 1;

/**
 * EC2 instances, launch templates, launch configurations and spot requests require IMDSv2 session tokens with a hop limit of 1.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "EC2 instances, launch templates, launch configurations and spot requests require IMDSv2 session tokens with a hop limit of 1.",
    why: "IMDSv1 answers any request that reaches 169.254.169.254, so one server-side request forgery in the gateway or a tool hands out the instance role's credentials; a hop limit above 1 lets a container or a forwarded request on the host fetch an IMDSv2 token too.",
    fix: "Set `metadataOptions: { httpTokens: \"required\", httpPutResponseHopLimit: 1 }` on the instance or launch template (or `httpEndpoint: \"disabled\"`).",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [
      "aws:ec2/instance:Instance",
      "aws:ec2/launchTemplate:LaunchTemplate",
      "aws:ec2/launchConfiguration:LaunchConfiguration",
      "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
    ],
  },
  (args, report) => {
    const options = args.props.metadataOptions;
    if (field(options, "httpEndpoint") === "disabled") return;
    const tokens = field(options, "httpTokens");
    if (tokens !== "required") {
      report(`\`metadataOptions.httpTokens\` must be "required" (IMDSv2); got ${JSON.stringify(tokens ?? null)}`);
    }
    // Absent, the hop limit is the AMI's choice: 1 by default, but 2 for AMIs registered with
    // `ImdsSupport: v2.0` (Amazon Linux 2023 among them). The plan cannot show which, so it must be written out.
    const hopLimit = field(options, "httpPutResponseHopLimit");
    const hops = typeof hopLimit === "number" ? hopLimit : typeof hopLimit === "string" && /^\s*\d+\s*$/.test(hopLimit) ? Number(hopLimit) : Number.NaN;
    if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOP_LIMIT) {
      report(
        `\`metadataOptions.httpPutResponseHopLimit\` must be ${MAX_HOP_LIMIT} (an IMDSv2 token must not leave the host, e.g. into a container); got ${JSON.stringify(hopLimit ?? null)}`,
      );
    }
  },
);
