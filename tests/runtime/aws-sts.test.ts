import { Writable } from "node:stream";
import { inspect } from "node:util";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AssumeRoleError,
  assumeCustomerRole,
  customerCredentialProvider,
  REFRESH_MARGIN_MS,
  SESSION_DURATION_SECONDS,
} from "../../runtime/aws-sts.js";
import { generateExternalId } from "../../components/access/external-id.js";

const ROLE = "arn:aws:iam::123456789012:role/claw-cloud/claw-cloud-provisioner";
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Fresh fake credentials per call, so a test can tell sessions apart and look for them in logs. */
let issued = 0;
function fakeCredentials(now: number) {
  issued += 1;
  return {
    Credentials: {
      AccessKeyId: `ASIAFAKEKEY${String(issued).padStart(9, "0")}`,
      SecretAccessKey: `fakeSecretAccessKey/${issued}/${"s".repeat(30)}`,
      SessionToken: `FakeSessionToken${issued}${"t".repeat(60)}`,
      Expiration: new Date(now + SESSION_DURATION_SECONDS * 1000),
    },
  };
}

const sts = mockClient(STSClient);
let client: STSClient;
let clock: number;
const now = () => clock;

beforeEach(() => {
  sts.reset();
  client = new STSClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  clock = T0;
  sts.on(AssumeRoleCommand).callsFake(() => fakeCredentials(clock));
});

afterEach(() => vi.restoreAllMocks());

function params(overrides: Partial<{ roleArn: string; externalId: string; userId: string }> = {}) {
  return { roleArn: ROLE, externalId: generateExternalId(), userId: "usr_7f3a9c", ...overrides };
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 403 } });
}

describe("assumeCustomerRole", () => {
  it("asks for one hour, with the external ID, a session name and a source identity naming the user", async () => {
    const input = params();
    const credentials = await assumeCustomerRole(input, { client, now });
    const calls = sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]?.args[0].input;
    expect(sent).toEqual({
      RoleArn: ROLE,
      ExternalId: input.externalId,
      DurationSeconds: 3600,
      RoleSessionName: `claw-usr_7f3a9c-${Math.floor(T0 / 1000)}`,
      SourceIdentity: "claw-user-usr_7f3a9c",
    });
    expect(sent?.RoleSessionName).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(credentials.expiration.getTime()).toBe(T0 + 3_600_000);
    expect(credentials.accessKeyId).toMatch(/^ASIAFAKEKEY/);
    expect(credentials.sessionToken).toMatch(/^FakeSessionToken/);
  });

  it("keeps the secret parts out of JSON, inspect and string forms", async () => {
    const credentials = await assumeCustomerRole(params(), { client, now });
    for (const printed of [JSON.stringify(credentials), inspect(credentials, { showHidden: true, depth: 5 }), String(credentials), `${Object.keys(credentials)}`]) {
      expect(printed).not.toContain(credentials.secretAccessKey);
      expect(printed).not.toContain(credentials.sessionToken);
      expect(printed).not.toContain(credentials.accessKeyId);
    }
  });

  it("explains AccessDenied as a trust-policy / external ID problem", async () => {
    sts.on(AssumeRoleCommand).rejects(awsError("AccessDenied", `User: arn:aws:sts::111122223333:assumed-role/p/s is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`));
    const error = await assumeCustomerRole(params(), { client, now }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect((error as AssumeRoleError).reason).toBe("trust-policy-rejected");
    expect((error as Error).message).toContain("the role's trust policy does not accept this external ID — was it rotated?");
    expect((error as Error).message).toContain(ROLE);
  });

  it("explains STS's ValidationError as a malformed role ARN", async () => {
    sts.on(AssumeRoleCommand).rejects(awsError("ValidationError", "1 validation error detected: Value at 'roleArn' failed"));
    const error = (await assumeCustomerRole(params(), { client, now }).catch((caught: unknown) => caught)) as AssumeRoleError;
    expect(error.reason).toBe("malformed-role-arn");
    expect(error.message).toMatch(/`roleArn` must be arn:aws:iam::<12-digit account>:role\/<name>/);
  });

  it("refuses a session-duration mismatch with what to change", async () => {
    sts.on(AssumeRoleCommand).rejects(awsError("SessionDurationEscalationException", "x"));
    const error = (await assumeCustomerRole(params(), { client, now }).catch((caught: unknown) => caught)) as AssumeRoleError;
    expect(error.reason).toBe("session-duration");
    expect(error.message).toContain("MaxSessionDuration to 3600");
  });

  it.each([
    ["a malformed role ARN", { roleArn: "arn:aws:iam::12345:role/x" }, /`roleArn`/, "malformed-role-arn"],
    ["a wildcard role", { roleArn: "arn:aws:iam::123456789012:role/*" }, /`roleArn`.*wildcards/, "malformed-role-arn"],
    ["an external ID outside the alphabet", { externalId: `${"a".repeat(40)}+` }, /`externalId` must use only/, "invalid-input"],
    ["a short external ID", { externalId: "abc" }, /`externalId` must be 32 to 64/, "invalid-input"],
    ["a user ID with a space", { userId: "bob smith" }, /`userId` must be 1 to 48 characters/, "invalid-input"],
  ])("refuses %s before calling STS", async (_label, overrides, message, reason) => {
    const error = (await assumeCustomerRole(params(overrides), { client, now }).catch((caught: unknown) => caught)) as AssumeRoleError;
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it("fails clearly when STS returns no credentials", async () => {
    sts.on(AssumeRoleCommand).resolves({});
    const error = (await assumeCustomerRole(params(), { client, now }).catch((caught: unknown) => caught)) as AssumeRoleError;
    expect(error.reason).toBe("no-credentials-returned");
  });
});

describe("customerCredentialProvider (long operations)", () => {
  it("reuses the session while fresh and assumes the role again before it expires", async () => {
    const provide = customerCredentialProvider(params(), { client, now });
    const first = await provide();
    clock = T0 + 30 * 60_000; // half-way: same session
    expect((await provide()).accessKeyId).toBe(first.accessKeyId);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);

    clock = T0 + 3_600_000 - REFRESH_MARGIN_MS + 1; // inside the refresh margin, not yet expired
    const second = await provide();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.expiration.getTime()).toBeGreaterThan(first.expiration.getTime());
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("keeps the current session when an early refresh fails, and fails once it has expired", async () => {
    const provide = customerCredentialProvider(params(), { client, now });
    const first = await provide();
    sts.on(AssumeRoleCommand).rejects(awsError("AccessDenied", "denied"));
    clock = T0 + 3_600_000 - 60_000; // inside the margin: refresh fails, session still valid
    expect((await provide()).accessKeyId).toBe(first.accessKeyId);
    clock = T0 + 3_600_000 + 1; // expired: nothing left to fall back on
    await expect(provide()).rejects.toThrow(/was it rotated\?/);
  });

  it("makes one STS call however many requests wait for a refresh", async () => {
    const provide = customerCredentialProvider(params(), { client, now });
    const all = await Promise.all(Array.from({ length: 10 }, () => provide()));
    expect(new Set(all.map((entry) => entry.accessKeyId)).size).toBe(1);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it("validates its parameters up front", () => {
    expect(() => customerCredentialProvider(params({ roleArn: "not-an-arn" }), { client, now })).toThrow(/`roleArn`/);
  });
});

describe("logging", () => {
  it("captures every log line of a run (pino, console, stdout, stderr) and finds no credential in it", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const logger = pino({ level: "trace" }, sink);
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map((arg) => inspect(arg)).join(" ")));
    }
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));

    const input = params();
    const provide = customerCredentialProvider(input, { client, now, logger });
    const seen = [await provide()];
    clock = T0 + 3_600_000; // expired: refresh
    seen.push(await provide());
    // A careless caller logging the credentials object itself.
    const credentials = await assumeCustomerRole(input, { client, now, logger });
    logger.info({ credentials }, "debugging a job");
    console.log(credentials);
    sts.on(AssumeRoleCommand).rejects(awsError("AccessDenied", "denied"));
    await assumeCustomerRole(input, { client, now, logger }).catch((error: unknown) => logger.error({ err: error }, "job failed"));
    vi.restoreAllMocks();

    const text = lines.join("\n");
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(text).toContain("assumed customer role");
    const secrets = [...seen, credentials].flatMap((entry) => [entry.accessKeyId, entry.secretAccessKey, entry.sessionToken]);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(input.externalId);
  });
});
