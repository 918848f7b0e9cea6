import { describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors.js";
import { parseHostConfig as parseStrict } from "../../program/host-config.js";
import { hostKind } from "../../program/host-program.js";

/** How the engine and the CLI program parse (the stack kind), where `registration` is allowed. */
const parseHostConfig = (raw: Record<string, unknown>) => hostKind.parse(raw);

const VALID: Record<string, unknown> = {
  cloud: "digitalocean",
  region: "nyc3",
  gatewayCidrs: ["203.0.113.0/24"],
  versions: { openclaw: "2026.1.29", node: "24.15.0" },
};
const ID = "inst_0123456789abcdef0123456789abcdef";
const TOKEN = `csreg_${"Zz9_-y".repeat(7)}k`;
/** What api/registration/prepare.ts adds to an `up` job's config. */
const REGISTRATION = { apiUrl: `https://api.example.com/v1/instances/${ID}/register`, instanceId: ID, token: TOKEN };

function refusal(registration: unknown): ConfigError {
  try {
    parseHostConfig({ ...VALID, registration });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(registration)}`);
}

describe("host config `registration`", () => {
  it("is optional, and accepted exactly as the API's job runner sets it", () => {
    expect(parseHostConfig(VALID).registration).toBeUndefined();
    expect(parseHostConfig({ ...VALID, registration: REGISTRATION }).registration).toEqual(REGISTRATION);
    const prefixed = { ...REGISTRATION, apiUrl: `https://claw.example.org:8443/api/v1/instances/${ID}/register` };
    expect(parseHostConfig({ ...VALID, registration: prefixed }).registration?.apiUrl).toBe(prefixed.apiUrl);
  });

  const cases: { name: string; registration: unknown; key: string; message: RegExp }[] = [
    { name: "not a map", registration: "csreg_x", key: "registration", message: /must be a map with keys apiUrl, instanceId, token; got a string \(not shown\)$/ },
    { name: "an unknown key", registration: { ...REGISTRATION, extra: 1 }, key: "registration.extra", message: /is not a known key/ },
    { name: "an instance id not the API's", registration: { ...REGISTRATION, instanceId: "i-0abc" }, key: "registration.instanceId", message: /inst_ followed by 32 hex characters; got "i-0abc"$/ },
    { name: "plain http", registration: { ...REGISTRATION, apiUrl: REGISTRATION.apiUrl.replace("https:", "http:") }, key: "registration.apiUrl", message: /it is not https:\/\/ .*; got "http:\/\/api\.example\.com/ },
    { name: "another instance's URL", registration: { ...REGISTRATION, apiUrl: REGISTRATION.apiUrl.replace("0123", "9999") }, key: "registration.apiUrl", message: /its instance id `inst_9999.*` is not `registration.instanceId`/ },
    { name: "a URL with a query", registration: { ...REGISTRATION, apiUrl: `${REGISTRATION.apiUrl}?x=1` }, key: "registration.apiUrl", message: /without query, fragment or credentials/ },
    { name: "a URL with credentials", registration: { ...REGISTRATION, apiUrl: REGISTRATION.apiUrl.replace("https://", "https://u:p@") }, key: "registration.apiUrl", message: /without query, fragment or credentials/ },
    { name: "a missing token", registration: { ...REGISTRATION, token: undefined }, key: "registration.token", message: /csreg_ followed by 43 base64url characters/ },
  ];
  for (const { name, registration, key, message } of cases) {
    it(`refuses ${name}, naming \`${key}\``, () => {
      const error = refusal(registration);
      expect(error.key).toBe(key);
      expect(error.message).toMatch(message);
    });
  }

  it("is refused where a client's request is validated (no option): only the API's job runner sets it", () => {
    expect(() => parseStrict({ ...VALID })).not.toThrow();
    try {
      parseStrict({ ...VALID, registration: REGISTRATION });
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe("registration");
      expect((error as Error).message).toMatch(/set by the provisioning API's job runner/);
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });

  it("refuses a malformed token without echoing it", () => {
    const leaked = `csreg_${"a".repeat(42)}!`;
    const error = refusal({ ...REGISTRATION, token: leaked });
    expect(error.key).toBe("registration.token");
    expect(error.message).toMatch(/not shown/);
    expect(error.message).not.toContain("aaaaaaaa");
  });
});
