import { resourceRule } from "../../lib/rule";
import { namesASecret, scanText } from "../../lib/secrets";
import { asList, isRecord } from "../../lib/values";

/** Properties that hold user-data or instance metadata, per type; `base64` when the cloud takes them encoded. */
const USER_DATA: Readonly<Record<string, ReadonlyArray<{ key: string; base64: boolean }>>> = {
  "aws:ec2/instance:Instance": [
    { key: "userData", base64: false },
    { key: "userDataBase64", base64: true },
  ],
  "aws:ec2/launchTemplate:LaunchTemplate": [{ key: "userData", base64: true }],
  "digitalocean:index/droplet:Droplet": [{ key: "userData", base64: false }],
  "gcp:compute/instance:Instance": [{ key: "metadataStartupScript", base64: false }],
  "gcp:compute/instanceTemplate:InstanceTemplate": [{ key: "metadataStartupScript", base64: false }],
};

/**
 * No plaintext secret (private key block, AWS access key, DigitalOcean token, JWT, high-entropy `TOKEN=`/`PASSWORD=` value) in user-data, metadata, tags or labels.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "No plaintext secret (private key block, AWS access key, DigitalOcean token, JWT, high-entropy `TOKEN=`/`PASSWORD=` value) in user-data, metadata, tags or labels.",
    why: "User-data, metadata, tags and labels are readable by anything on the host that can reach the metadata service, by anyone with read access in the console, and end up in state and logs.",
    fix: "Generate the secret on the host at first boot, or deliver it through SSM Parameter Store / Secret Manager read by the host's own identity; never template it into user-data.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [/^(aws|gcp|digitalocean):/],
  },
  (args, report) => {
    const props = args.props;
    const findings: string[] = [];
    for (const { key, base64 } of USER_DATA[args.type] ?? []) findings.push(...scanText(key, props[key], base64));
    if (isRecord(props.metadata)) {
      const encoded = String(props.metadata["user-data-encoding"] ?? "").toLowerCase() === "base64";
      for (const [key, value] of Object.entries(props.metadata)) {
        findings.push(...scanText(`metadata["${key}"]`, value, key === "user-data" && encoded));
      }
    }
    for (const key of ["tags", "labels", "volumeTags"]) {
      const value = props[key];
      if (isRecord(value)) {
        Object.keys(value).forEach((tag, index) => {
          // A secret in a tag's key: the path names its position, never the key itself.
          findings.push(...scanText(`${key} key ${index + 1}`, tag, false));
        });
        for (const [tag, tagValue] of Object.entries(value)) {
          // The value alone (encoded secrets, redacted secrets) and, when the tag's name says it
          // holds a secret (`ApiToken`), as an assignment.
          findings.push(...scanText(`${key}.${tag}`, tagValue, false));
          if (namesASecret(tag)) findings.push(...scanText(`${key}.${tag}`, `${tag}=${String(tagValue)}`, false));
        }
      } else {
        asList(value).forEach((tag, index) => findings.push(...scanText(`${key}[${index}]`, tag, false)));
      }
    }
    for (const finding of new Set(findings)) report(finding);
  },
);
