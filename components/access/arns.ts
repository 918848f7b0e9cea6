/**
 * Shapes of the identifiers the access components accept. Each checker returns
 * why a value is refused, or `undefined` when it is fine, so the caller can put
 * the field's name in front of the message.
 */
import { GCP_PROJECT_ID_PATTERN } from "../../core/validation.js";

/** A 12-digit AWS account ID. */
export const AWS_ACCOUNT_ID_PATTERN = /^\d{12}$/;

/**
 * An IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<optional path/><name>`.
 * Role names are 1 to 64 characters of `[\w+=,.@-]`; paths are `/`-separated
 * segments of the same characters.
 */
export const AWS_ROLE_ARN_PATTERN =
  /^arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;

/** A GCP project number (not the project ID): digits only. */
export const GCP_PROJECT_NUMBER_PATTERN = /^[1-9]\d{5,19}$/;


export interface ParsedRoleArn {
  readonly partition: string;
  readonly accountId: string;
  /** The role's path, `/` when none, otherwise `/segment/.../`. */
  readonly path: string;
  readonly name: string;
}

export function parseRoleArn(value: string): ParsedRoleArn | undefined {
  const match = AWS_ROLE_ARN_PATTERN.exec(value);
  if (!match) return undefined;
  const [, partition = "", accountId = "", path = "", name = ""] = match;
  return { partition, accountId, path: `/${path}`, name };
}

export function roleArnProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0) {
    return `must be an IAM role ARN such as arn:aws:iam::123456789012:role/claw-cloud-provisioner; got ${describe(value)}`;
  }
  if (value.includes("*")) return `must name one role; wildcards are not allowed; got ${JSON.stringify(value)}`;
  if (!parseRoleArn(value)) {
    return `must be an IAM role ARN of the form arn:aws:iam::<12-digit account>:role/<name>; got ${JSON.stringify(value)}`;
  }
  return undefined;
}

export function accountIdProblem(value: unknown): string | undefined {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !AWS_ACCOUNT_ID_PATTERN.test(text)) {
    return `must be a 12-digit AWS account ID (quote it in YAML to keep leading zeros); got ${describe(value)}`;
  }
  return undefined;
}

export function gcpProjectNumberProblem(value: unknown): string | undefined {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !GCP_PROJECT_NUMBER_PATTERN.test(text)) {
    return `must be the numeric GCP project number (digits only, as shown by \`gcloud projects describe\`), not the project ID; got ${describe(value)}`;
  }
  return undefined;
}

export function gcpProjectIdProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || !GCP_PROJECT_ID_PATTERN.test(value)) {
    return `must be a GCP project ID (6 to 30 lowercase letters, digits and hyphens, starting with a letter); got ${describe(value)}`;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : JSON.stringify(value);
  return `${typeof value} ${JSON.stringify(value)}`;
}
