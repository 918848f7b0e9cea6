/**
 * `npm run access -- <command>`: operator tools for cross-account access.
 *
 *   external-id                          print a new external ID (one per customer)
 *   rotate-external-id --stack-file F    replace `clawstack:externalId` in an aws-access stack file
 *   aws-policy --account ID [--partition P] [--image-owner O...]
 *                                        print the provisioner role's permissions policy for review
 *   check-do-token [--features host,state-volume,ssh]
 *                                        check a DigitalOcean token read from DIGITALOCEAN_TOKEN or stdin
 *
 * Tokens are never taken from the command line (other users can read it in
 * `ps`), and never printed. Exit codes: 0 fine, 1 check failed, 2 bad usage or input.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { Command, CommanderError } from "commander";
import { parseDocument } from "yaml";
import { accountIdProblem } from "../components/access/arns.js";
import { DEFAULT_IMAGE_OWNERS, renderPermissionsPolicy } from "../components/access/aws-policy.js";
import { checkDigitalOceanToken, type DigitalOceanFeature } from "./digitalocean-token-check.js";
import { externalIdProblem, generateExternalId, rotateExternalId } from "../components/access/external-id.js";

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the token from standard input when DIGITALOCEAN_TOKEN is unset. */
  readonly readStdin: () => Promise<string>;
}

class UsageError extends Error {}

const FEATURES: readonly DigitalOceanFeature[] = ["host", "state-volume", "ssh"];

/** Runs one CLI invocation; returns the exit code. */
export async function runAccessCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = new Command("access")
    .description("ClawStack cross-account access: external IDs, the AWS permissions policy, DigitalOcean token checks")
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(text.trimEnd()) });

  program
    .command("external-id")
    .description("print a new external ID from the CSPRNG (48 characters of [A-Za-z0-9])")
    .action(() => io.out(generateExternalId()));

  program
    .command("rotate-external-id")
    .description("replace clawstack:externalId in an aws-access stack file with a new ID; the old one fails once the stack is redeployed")
    .requiredOption("--stack-file <path>", "the customer's stacks/Pulumi.<stack>.yaml")
    .action((options: { stackFile: string }) => {
      const text = readFileSync(options.stackFile, "utf8");
      const document = parseDocument(text);
      const previous = document.getIn(["config", "clawstack:externalId"]);
      const problem = externalIdProblem(previous);
      if (problem) throw new UsageError(`\`clawstack:externalId\` in ${options.stackFile} ${problem}`);
      const { next } = rotateExternalId(previous as string);
      document.setIn(["config", "clawstack:externalId"], next);
      // Write beside the file, then rename over it: the stack file is never half-written.
      const temporary = join(dirname(options.stackFile), `.${basename(options.stackFile)}.${process.pid}.tmp`);
      writeFileSync(temporary, document.toString(), { mode: 0o644 });
      renameSync(temporary, options.stackFile);
      io.out(`new external ID written to ${options.stackFile}: ${next}`);
      io.out("next: store it in the credential vault for this customer, then the customer runs `pulumi up` on the aws-access stack;");
      io.out("      from then on AssumeRole with the previous ID is refused.");
    });

  program
    .command("aws-policy")
    .description("print the provisioner role's permissions policy (JSON) for a customer account")
    .requiredOption("--account <id>", "the customer's 12-digit AWS account ID")
    .option("--partition <partition>", "aws, aws-us-gov or aws-cn", "aws")
    .option("--image-owner <owner...>", "AMI owners the host may launch from", [...DEFAULT_IMAGE_OWNERS])
    .action((options: { account: string; partition: string; imageOwner: string[] }) => {
      const problem = accountIdProblem(options.account);
      if (problem) throw new UsageError(`\`--account\` ${problem}`);
      if (!["aws", "aws-us-gov", "aws-cn"].includes(options.partition)) {
        throw new UsageError(`\`--partition\` must be aws, aws-us-gov or aws-cn; got ${JSON.stringify(options.partition)}`);
      }
      const policy = renderPermissionsPolicy({ partition: options.partition, accountId: options.account, imageOwners: options.imageOwner });
      io.out(JSON.stringify(policy, null, 2));
    });

  program
    .command("check-do-token")
    .description("check that a DigitalOcean token (DIGITALOCEAN_TOKEN, or stdin) has every scope ClawStack needs")
    .option("--features <list>", "comma-separated: host, state-volume, ssh", "host,state-volume")
    .option("--base-url <url>", "API base URL (tests)", undefined)
    .action(async (options: { features: string; baseUrl?: string }) => {
      const features = options.features.split(",").map((feature) => feature.trim());
      const unknown = features.find((feature) => !FEATURES.includes(feature as DigitalOceanFeature));
      if (unknown !== undefined) throw new UsageError(`\`--features\` must list ${FEATURES.join(", ")}; got ${JSON.stringify(unknown)}`);
      const token = (io.env.DIGITALOCEAN_TOKEN ?? (await io.readStdin())).trim();
      if (token.length === 0) throw new UsageError("`DIGITALOCEAN_TOKEN` is empty and nothing came on standard input: give the token in one of them");
      const result = await checkDigitalOceanToken(token, {
        features: features as DigitalOceanFeature[],
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      });
      io.out(result.message);
      if (result.granted.length > 0) io.out(`granted: ${result.granted.join(", ")}`);
      if (!result.ok) code = 1;
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      io.err(`access: ${error.message}`);
      return 2;
    }
    io.err(`access: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  return code;
}

if (require.main === module) {
  const io: CliIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    readStdin: async () => {
      if (process.stdin.isTTY) return "";
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
  runAccessCli(process.argv.slice(2), io).then((code) => process.exit(code));
}
