import { inspect } from "node:util";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { roleArnProblem } from "../components/access/arns.js";
import { externalIdProblem } from "../components/access/external-id.js";

/**
 * Short-lived credentials for a customer's AWS account (seed 001 §3, issue 3
 * item 5): the provisioner assumes the customer's role with their external ID
 * for one hour, keeps the credentials in memory only, and never writes them to
 * disk, a database or a log. Engineer JOBS' provisioning jobs call
 * `assumeCustomerRole` or, for operations that may outlast a session,
 * `customerCredentialProvider`.
 */

/** Sessions last one hour: the role's `MaxSessionDuration` and STS's default. */
export const SESSION_DURATION_SECONDS = 3600;
/** A cached session is replaced this long before it expires. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;

const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,48}$/;

export interface AssumeCustomerRoleParams {
  /** The role the customer created with the `aws-access` stack. */
  readonly roleArn: string;
  /** This customer's external ID, as stored by Claw Cloud. */
  readonly externalId: string;
  /** The Claw Cloud user the operation runs for; becomes the source identity in the customer's CloudTrail. */
  readonly userId: string;
}

/** A structured logger (pino's `info`/`warn` signature); log lines never carry credential material. */
export interface AccessLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface AssumeCustomerRoleOptions {
  /** Defaults to a client for `us-east-1` using the provisioner's own ambient credentials. */
  readonly client?: STSClient;
  readonly logger?: AccessLogger;
  /** The clock, for tests of expiry and refresh. */
  readonly now?: () => number;
}

/**
 * Temporary credentials held in memory. The secret parts are not enumerable
 * and are redacted from `JSON.stringify`, `util.inspect` and `console.log`, so
 * logging the object by mistake leaks nothing.
 */
export class CustomerCredentials {
  declare readonly accessKeyId: string;
  declare readonly secretAccessKey: string;
  declare readonly sessionToken: string;
  readonly expiration: Date;
  readonly roleArn: string;
  readonly sessionName: string;

  constructor(input: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: Date;
    roleArn: string;
    sessionName: string;
  }) {
    for (const key of ["accessKeyId", "secretAccessKey", "sessionToken"] as const) {
      Object.defineProperty(this, key, { value: input[key], enumerable: false, writable: false });
    }
    this.expiration = input.expiration;
    this.roleArn = input.roleArn;
    this.sessionName = input.sessionName;
  }

  /** Whether the credentials are still good for `marginMs` from `now`. */
  isFreshAt(now: number, marginMs: number = 0): boolean {
    return this.expiration.getTime() - marginMs > now;
  }

  toJSON(): Record<string, unknown> {
    return { roleArn: this.roleArn, sessionName: this.sessionName, expiration: this.expiration.toISOString(), credentials: "[redacted]" };
  }

  [inspect.custom](): string {
    return `CustomerCredentials ${JSON.stringify(this.toJSON())}`;
  }

  toString(): string {
    return `[CustomerCredentials for ${this.roleArn}, expires ${this.expiration.toISOString()}]`;
  }
}

export type AssumeRoleFailure =
  | "invalid-input"
  | "trust-policy-rejected"
  | "malformed-role-arn"
  | "session-duration"
  | "region-disabled"
  | "no-credentials-returned"
  | "sts-error";

/** An AssumeRole failure with a message an operator or customer can act on. */
export class AssumeRoleError extends Error {
  constructor(
    readonly reason: AssumeRoleFailure,
    message: string,
  ) {
    super(message);
    this.name = "AssumeRoleError";
  }
}

/** `usr_abc123` → session name `claw-usr_abc123-1700000000` (2..64 chars of `[\w+=,.@-]`). */
export function sessionNameFor(userId: string, now: number): string {
  return `claw-${userId}-${Math.floor(now / 1000)}`.slice(0, 64);
}

/** The source identity stamped on the session: `claw-user-<userId>`. Cannot be changed for the session's life. */
export function sourceIdentityFor(userId: string): string {
  return `claw-user-${userId}`;
}

function validate(params: AssumeCustomerRoleParams): void {
  const arnProblem = roleArnProblem(params.roleArn);
  if (arnProblem) throw new AssumeRoleError("malformed-role-arn", `\`roleArn\` ${arnProblem}`);
  const idProblem = externalIdProblem(params.externalId);
  if (idProblem) throw new AssumeRoleError("invalid-input", `\`externalId\` ${idProblem}`);
  if (typeof params.userId !== "string" || !USER_ID_PATTERN.test(params.userId)) {
    throw new AssumeRoleError(
      "invalid-input",
      `\`userId\` must be 1 to 48 characters of [A-Za-z0-9_-]; got ${JSON.stringify(params.userId)}`,
    );
  }
}

const silentLogger: AccessLogger = { info() {}, warn() {} };

/**
 * Assumes the customer's role for one hour with their external ID, a session
 * name and a source identity naming the user. Returns the credentials in
 * memory with their expiry; nothing is written anywhere.
 */
export async function assumeCustomerRole(
  params: AssumeCustomerRoleParams,
  options: AssumeCustomerRoleOptions = {},
): Promise<CustomerCredentials> {
  validate(params);
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const client = options.client ?? new STSClient({ region: "us-east-1" });
  const sessionName = sessionNameFor(params.userId, now());

  let response;
  try {
    response = await client.send(
      new AssumeRoleCommand({
        RoleArn: params.roleArn,
        RoleSessionName: sessionName,
        ExternalId: params.externalId,
        DurationSeconds: SESSION_DURATION_SECONDS,
        SourceIdentity: sourceIdentityFor(params.userId),
      }),
    );
  } catch (error) {
    const failure = explainStsError(error, params.roleArn);
    logger.warn({ event: "assume_role_failed", roleArn: params.roleArn, reason: failure.reason }, "AssumeRole failed");
    throw failure;
  }

  const issued = response.Credentials;
  if (!issued?.AccessKeyId || !issued.SecretAccessKey || !issued.SessionToken || !issued.Expiration) {
    throw new AssumeRoleError("no-credentials-returned", `STS returned no credentials for \`${params.roleArn}\``);
  }
  const credentials = new CustomerCredentials({
    accessKeyId: issued.AccessKeyId,
    secretAccessKey: issued.SecretAccessKey,
    sessionToken: issued.SessionToken,
    expiration: issued.Expiration,
    roleArn: params.roleArn,
    sessionName,
  });
  logger.info(
    { event: "assume_role", roleArn: params.roleArn, sessionName, expiration: credentials.expiration.toISOString() },
    "assumed customer role",
  );
  return credentials;
}

/** Turns STS's errors into messages that say what to do. Never includes request or credential material. */
export function explainStsError(error: unknown, roleArn: string): AssumeRoleError {
  const name = error instanceof Error ? error.name : "";
  const code = (error as { Code?: unknown } | undefined)?.Code;
  const kind = typeof code === "string" && code.length > 0 ? code : name;
  switch (kind) {
    case "AccessDenied":
    case "AccessDeniedException":
      return new AssumeRoleError(
        "trust-policy-rejected",
        `AssumeRole on \`${roleArn}\` was denied: the role's trust policy does not accept this external ID — was it rotated? ` +
          "If not, check that the role still trusts the Claw Cloud provisioner (redeploy the aws-access stack with the current external ID).",
      );
    case "ValidationError":
    case "MalformedPolicyDocument":
    case "MalformedPolicyDocumentException":
      return new AssumeRoleError(
        "malformed-role-arn",
        `STS refused the request for \`${roleArn}\` as malformed: \`roleArn\` must be arn:aws:iam::<12-digit account>:role/<name> of an existing role`,
      );
    case "SessionDurationEscalationException":
      return new AssumeRoleError(
        "session-duration",
        `\`${roleArn}\` does not allow ${SESSION_DURATION_SECONDS}-second sessions: set its MaxSessionDuration to 3600 (the aws-access stack does)`,
      );
    case "RegionDisabledException":
      return new AssumeRoleError("region-disabled", `STS is not enabled in this region for \`${roleArn}\`'s account`);
    default:
      return new AssumeRoleError("sts-error", `AssumeRole on \`${roleArn}\` failed (${kind || "unknown error"})`);
  }
}

/** The shape AWS SDK v3 clients accept as `credentials`. */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/**
 * A credential provider for long operations: pass it as `credentials` to any
 * AWS SDK v3 client. It assumes the role on first use, reuses the session
 * while it has more than `REFRESH_MARGIN_MS` left, and assumes the role again
 * (one call, however many requests are waiting) when it is about to expire.
 */
export function customerCredentialProvider(
  params: AssumeCustomerRoleParams,
  options: AssumeCustomerRoleOptions & { refreshMarginMs?: number } = {},
): () => Promise<AwsCredentialIdentity> {
  validate(params);
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? REFRESH_MARGIN_MS;
  let current: CustomerCredentials | undefined;
  let pending: Promise<CustomerCredentials> | undefined;
  const logger = options.logger ?? silentLogger;
  return async () => {
    if (!current || !current.isFreshAt(now(), margin)) {
      pending ??= assumeCustomerRole(params, options).finally(() => {
        pending = undefined;
      });
      try {
        current = await pending;
      } catch (error) {
        // An early refresh that failed is not fatal while the session in hand has not expired yet:
        // keep using it and try again on the next request.
        if (!current || !current.isFreshAt(now())) throw error;
        logger.warn(
          { event: "assume_role_refresh_failed", roleArn: params.roleArn, expiration: current.expiration.toISOString() },
          "refreshing the customer session failed; using the current one until it expires",
        );
      }
    }
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = current;
    return { accessKeyId, secretAccessKey, sessionToken, expiration };
  };
}
