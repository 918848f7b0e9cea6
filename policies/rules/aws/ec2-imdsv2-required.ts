import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * EC2 instances and launch templates require IMDSv2 session tokens.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "EC2 instances and launch templates require IMDSv2 session tokens.",
    why: "IMDSv1 answers any request that reaches 169.254.169.254, so one server-side request forgery in the gateway or a tool hands out the instance role's credentials.",
    fix: "Set `metadataOptions: { httpTokens: \"required\", httpPutResponseHopLimit: 1 }` on the instance or launch template.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"],
  },
  (args, report) => {
    const options = args.props.metadataOptions;
    if (field(options, "httpEndpoint") === "disabled") return;
    const tokens = field(options, "httpTokens");
    if (tokens !== "required") {
      report(`\`metadataOptions.httpTokens\` must be "required" (IMDSv2); got ${JSON.stringify(tokens ?? null)}`);
    }
  },
);
