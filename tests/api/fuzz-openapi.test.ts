/**
 * Every operation of `/openapi.json`, fuzzed on SQLite and PostgreSQL with the same hostile
 * input: malformed, oversized, deeply nested, control characters (NUL first) and wrong types, in
 * the path, the query, the headers and the body. Each case breaks exactly one thing of an
 * otherwise valid request (signed in as an admin, so every route reaches its validation), and
 * every answer must be a 4xx whose `field` names where the problem is; never a 5xx, never a
 * 2xx. The operations come from the served document, so a new route is fuzzed without being
 * listed here (the test says which valid body or id it needs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, engines, type Session, signUpAdmin, startApi, type TestApi } from "./support";

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  oneOf?: Schema[];
  anyOf?: Schema[];
  enum?: unknown[];
}
interface Parameter {
  in: "path" | "query" | "header";
  name: string;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

/** A well-formed id nothing has, per route family (the valid value of a path parameter). */
const WELL_FORMED_IDS: [RegExp, string][] = [
  [/^\/v1\/api-keys\/\{id\}/, "key_AAAAAAAAAAAA"],
  [/^\/v1\/credentials\/\{id\}/, `cred_${"A".repeat(22)}`],
  [/^\/v1\/instances\/\{id\}/, `inst_${"0".repeat(32)}`],
  [/^\/v1\/jobs\/\{id\}/, `job_${"A".repeat(22)}`],
  [/^\/v1\/admin\/users\/\{id\}/, `usr_${"A".repeat(22)}`],
  [/^\/v1\/admin\/invites\/\{id\}/, `inv_${"A".repeat(22)}`],
  [/^\/v1\/admin\/plans\/\{id\}/, "fuzz-plan"],
  [/^\/v1\/host\/instances\/\{id\}/, `inst_${"0".repeat(32)}`],
  [/^\/v1\/me\/device-keys\/\{id\}/, `dk_${"A".repeat(22)}`],
  [/^\/v1\/admin\/support-keys\/\{id\}/, `osk_${"A".repeat(22)}`],
];

/** Valid bodies per operation (several for a union); each body case breaks one member of one of them. */
const VALID_BODIES: Record<string, Record<string, unknown>[]> = {
  "POST /v1/auth/register": [{ email: "fuzz@example.com", password: "fuzz-password-long", invite: `csi_${"A".repeat(43)}` }],
  "POST /v1/auth/login": [{ email: "fuzz@example.com", password: "fuzz-password-long" }],
  "POST /v1/auth/refresh": [{ refreshToken: "A".repeat(43) }],
  "POST /v1/auth/logout": [{ refreshToken: "A".repeat(43) }],
  "DELETE /v1/me": [{ password: "fuzz-password-long" }],
  "POST /v1/me/sign-out-everywhere": [{ keepApiKeys: false }],
  "POST /v1/me/password": [{ currentPassword: "fuzz-password-long", newPassword: "fuzz-password-new", keepApiKeys: false }],
  "POST /v1/api-keys": [{ name: "fuzz", scopes: ["jobs:read"], expiresInDays: 30 }],
  "POST /v1/credentials": [
    { kind: "digitalocean", name: "fuzz", token: "a".repeat(64), passphrase: "fuzz-passphrase-long" },
    { kind: "aws", name: "fuzz", roleArn: "arn:aws:iam::123456789012:role/fuzz", externalId: "fuzz-external-id" },
    {
      kind: "gcp",
      name: "fuzz",
      config: { type: "external_account", audience: "//iam.googleapis.com/fuzz", subject_token_type: "urn:ietf:params:aws:token-type:aws4_request", token_url: "https://sts.googleapis.com/v1/token" },
    },
  ],
  "POST /v1/credentials/{id}/test": [{ passphrase: "fuzz-passphrase-long" }],
  "PATCH /v1/admin/users/{id}": [{ role: "user", plan: "free" }],
  "POST /v1/admin/invites": [{ email: "fuzz@example.com", expiresInDays: 7 }],
  "PUT /v1/admin/plans/{id}": [{ name: "Fuzz", maxInstances: 1 }],
  "DELETE /v1/admin/users/{id}/sessions": [{ keepApiKeys: false }],
  "POST /v1/instances": [
    {
      cloud: "digitalocean",
      region: "nyc3",
      size: "small",
      name: "fuzz",
      credentialId: `cred_${"A".repeat(22)}`,
      options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
    },
  ],
  "POST /v1/instances/plan": [
    {
      cloud: "digitalocean",
      region: "nyc3",
      size: "small",
      name: "fuzz",
      credentialId: `cred_${"A".repeat(22)}`,
      options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
    },
  ],
  "POST /v1/instances/{id}/register": [{ registrationToken: `csreg_${"A".repeat(43)}`, gatewayToken: "a".repeat(64), tlsCertSha256: "ab".repeat(32) }],
  "POST /v1/instances/{id}/chat/completions": [{ model: "openclaw", messages: [{ role: "user", content: "hi" }] }],
  "POST /v1/me/device-keys": [{ name: "fuzz", key: { signing: "A".repeat(124), sealing: "A".repeat(124) } }],
  "POST /v1/instances/{id}/support-grants": [{ statement: "{}", signature: "A".repeat(86) }],
  "POST /v1/instances/{id}/gateway-admin-grants": [{ statement: "{}", signature: "A".repeat(86) }],
  "POST /v1/admin/support-keys": [{ publicKey: `ssh-ed25519 ${"A".repeat(68)}` }],
  "POST /v1/host/instances/{id}/gateway-token": [{ gatewayToken: "g".repeat(64), tlsCertSha256: "ab".repeat(32) }],
  "POST /v1/host/instances/{id}/support-commands": [
    {
      entries: [
        { seq: 1, grantId: `sgr_${"A".repeat(22)}`, operator: "fuzz", commandLine: "id", startedAt: "2026-12-05T10:00:00.000Z", endedAt: "2026-12-05T10:00:01.000Z", exitStatus: 0, stdoutBytes: 1, stderrBytes: 0 },
      ],
    },
  ],
  "PUT /v1/host/instances/{id}/clawchat-keys": [
    {
      box: {
        v: 1,
        alg: "ECDH-P256+HKDF-SHA256+A256GCM",
        context: `clawchat-keys:inst_${"0".repeat(32)}`,
        recipients: [{ fingerprint: `SHA256:${"A".repeat(43)}`, ephemeral: "A".repeat(124), iv: "A".repeat(16), wrappedKey: "A".repeat(64) }],
        iv: "A".repeat(16),
        ciphertext: "A".repeat(64),
      },
    },
  ],
};

const nest = (levels: number, inner: unknown, kind: "array" | "object"): unknown => {
  let value = inner;
  for (let i = 0; i < levels; i += 1) value = kind === "array" ? [value] : { a: value };
  return value;
};

/** Control characters and other text no field takes: NUL, ESC, DEL, a C1 control, a bidi override, a line separator, an unpaired surrogate. */
const HOSTILE_TEXT = ["\u0000", "fuzz\u0000fuzz", "\u001b[31m", "fuzz\u007f", "\u0085", "fuzz\u202efuzz", "fuzz\u2028", "\ud800"];

/** A value of every JSON type, for "wrong type" cases (those of the member's own type are left out). */
const ANY_TYPE: [string, unknown][] = [
  ["string", "fuzz"],
  ["integer", 1.5],
  ["number", 12],
  ["boolean", true],
  ["array", []],
  ["object", {}],
  ["null", null],
];

function typesOf(schema: Schema | undefined): Set<string> {
  const types = new Set<string>();
  const visit = (s: Schema | undefined) => {
    if (!s) return;
    if (Array.isArray(s.type)) s.type.forEach((t) => types.add(t));
    else if (s.type) types.add(s.type);
    s.oneOf?.forEach(visit);
    s.anyOf?.forEach(visit);
  };
  visit(schema);
  if (types.has("integer")) types.add("number");
  return types;
}

/** Hostile values for one body member, by its declared type: each is invalid for it whatever else it allows. */
interface MemberCase {
  label: string;
  value?: unknown;
  /** JSON text put in place of the member's value (what `JSON.stringify` cannot write). */
  raw?: string;
  /** Refused while parsing, before any schema: the answer names the whole `body`. */
  refusedWhileParsing?: true;
}

function memberValues(schema: Schema | undefined): MemberCase[] {
  const types = typesOf(schema);
  const cases: MemberCase[] = [
    // The class of issue 11: a few thousand levels (about 12 KB) in one member.
    { label: "arrays nested 3000 levels", raw: `${"[".repeat(3000)}${"]".repeat(3000)}`, refusedWhileParsing: true },
  ];
  for (const [type, value] of ANY_TYPE) {
    if (types.has(type) || (type === "number" && types.has("integer"))) continue;
    if (type === "integer" && types.has("number")) continue;
    cases.push({ label: `wrong type ${type}`, value });
  }
  cases.push({ label: "nested 20 levels of arrays", value: nest(20, "x", "array") });
  cases.push({ label: "nested 20 levels of objects", value: nest(20, "x", "object") });
  if (types.has("string")) {
    for (const text of HOSTILE_TEXT) cases.push({ label: `text ${JSON.stringify(text)}`, value: text });
    cases.push({ label: "20000 characters", value: "x".repeat(20_000) });
  }
  if (types.has("number")) {
    cases.push({ label: "1e999 (infinite)", raw: "1e999" }, { label: "-1e300", value: -1e300 }, { label: "1e300", value: 1e300 });
    cases.push({ label: "numeric string", value: "1" });
  }
  if (types.has("array")) {
    for (const text of HOSTILE_TEXT.slice(0, 3)) cases.push({ label: `array of ${JSON.stringify(text)}`, value: [text] });
    cases.push({ label: "array of objects", value: [{}] }, { label: "array of 1000 strings", value: Array.from({ length: 1000 }, () => "x") });
  }
  if (types.has("object")) {
    cases.push(
      { label: "object nested 20 levels", value: nest(20, 1, "object") },
      { label: "object with a NUL key", value: { "\u0000": 1 } },
      { label: "object with a control-character value", value: { a: "fuzz\u0000" } },
      { label: "object with 2000 keys", value: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])) },
      { label: "object with a 9000-character string", value: { a: "x".repeat(9000) } },
      { label: "object with 40000 characters in all", value: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, "x".repeat(5000)])) },
      { label: "object with an infinite number", raw: '{"a":1e999}' },
      { label: "object with a 200-character key", value: { ["k".repeat(200)]: 1 } },
    );
  }
  return cases;
}

/** Path values invalid for every `{id}` (ids, plan ids): NUL and friends, bad encoding, over-long, wrong kind, traversal. */
const PATH_VALUES = [
  "%00",
  "fuzz%00",
  "%01",
  "%1B%5B31m",
  "%7F",
  "%C2%85",
  "%E2%80%AE",
  "%E2%80%A8",
  "%ED%A0%80",
  "%C0%AE",
  "%ZZ",
  "%",
  "x".repeat(101),
  "x".repeat(64),
  "..%2F..%2Fetc%2Fpasswd",
  "%27%20OR%201%3D1--",
  "-1",
  "%20",
  `usr_${"A".repeat(21)}%00`,
  `job_${"A".repeat(22)}x`,
  "%F0%9F%A6%80",
];

const QUERY_TEXT = ["%00", "fuzz%00", "%1B", "%7F", "%C2%85", "%E2%80%AE", "x".repeat(5000)];
const QUERY_NUMBERS = ["abc", "1.5", "1e999", "-5", "NaN", "Infinity", "0x", "9".repeat(400)];

interface FuzzCase {
  name: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string;
  /** The `field` of the answer must start with one of these. */
  fields: string[];
}

function casesFor(path: string, method: string, operation: Operation): FuzzCase[] {
  const key = `${method} ${path}`;
  const parameters = operation.parameters ?? [];
  const pathParams = parameters.filter((p) => p.in === "path");
  const wellFormedId = WELL_FORMED_IDS.find(([pattern]) => pattern.test(path))?.[1];
  if (pathParams.length > 0 && wellFormedId === undefined) throw new Error(`no well-formed id for ${key}: add one to WELL_FORMED_IDS`);
  const urlWith = (value: string) => path.replace(/\{[^}]+\}/g, value);
  const validUrl = urlWith(wellFormedId ?? "");
  const bodySchema = operation.requestBody?.content["application/json"]?.schema;
  const bodies = bodySchema ? VALID_BODIES[key] : [undefined];
  if (bodies === undefined) throw new Error(`no valid body for ${key}: add one to VALID_BODIES`);
  const validPayload = bodies[0] === undefined ? undefined : JSON.stringify(bodies[0]);
  const request = (name: string, url: string, fields: string[], extra: Partial<FuzzCase> = {}): FuzzCase => ({
    name: `${key} ${name}`,
    method,
    url,
    fields,
    ...(validPayload !== undefined ? { payload: validPayload, headers: { "content-type": "application/json" } } : {}),
    ...extra,
  });
  const cases: FuzzCase[] = [];

  for (const param of pathParams) {
    for (const value of PATH_VALUES) cases.push(request(`path ${param.name}=${value.slice(0, 30)}`, urlWith(value), [`params.${param.name}`, "params", "url"]));
  }

  const queryParams = parameters.filter((p) => p.in === "query");
  for (const param of queryParams) {
    const numeric = typesOf(param.schema).has("number");
    const values = [...QUERY_TEXT, ...(numeric ? QUERY_NUMBERS : ["fuzz"].filter(() => param.name !== "action"))];
    for (const value of values) {
      cases.push(request(`query ${param.name}=${value.slice(0, 30)}`, `${validUrl}?${param.name}=${value}`, [`querystring.${param.name}`]));
    }
    cases.push(request(`query ${param.name} given twice`, `${validUrl}?${param.name}=1&${param.name}=2`, [`querystring.${param.name}`]));
  }
  if (queryParams.length > 0) cases.push(request("unknown query parameter", `${validUrl}?fuzz=1`, ["querystring.fuzz"]));

  for (const param of parameters.filter((p) => p.in === "header")) {
    for (const value of ["x".repeat(300), "has space", "tab\there", "abc", "-1", "1".repeat(13)]) {
      if (param.name === "idempotency-key" && /^[\x21-\x7e]{1,200}$/.test(value)) continue;
      const headers = { ...(validPayload !== undefined ? { "content-type": "application/json" } : {}), [param.name]: value };
      cases.push(request(`header ${param.name}=${value.slice(0, 20)}`, validUrl, [`headers.${param.name}`], { headers }));
    }
  }

  if (bodySchema) {
    const json = { "content-type": "application/json" };
    const acceptsNull = typesOf(bodySchema).has("null");
    const wholeBody: [string, string][] = [
      ["malformed JSON", '{"a":'],
      ["arrays nested 5000 levels", `${"[".repeat(5000)}${"]".repeat(5000)}`],
      ["objects nested 3000 levels", `${'{"a":'.repeat(3000)}1${"}".repeat(3000)}`],
      ["a body over the limit", JSON.stringify({ ...bodies[0], padding: "x".repeat(70 * 1024) })],
      ["an array body", "[]"],
      ["a string body", '"fuzz"'],
      ["a number body", "42"],
      ["a boolean body", "true"],
      ["a __proto__ key", '{"__proto__":{"role":"admin"}}'],
      ["a constructor.prototype key", '{"constructor":{"prototype":{"role":"admin"}}}'],
      ["an unknown NUL key", JSON.stringify({ ...bodies[0], "\u0000": 1 })],
      ["an unknown key", JSON.stringify({ ...bodies[0], fuzz: 1 })],
      ...(acceptsNull ? [] : ([["a null body", "null"]] as [string, string][])),
    ];
    for (const [name, payload] of wholeBody) cases.push(request(`body: ${name}`, validUrl, ["body"], { payload, headers: json }));
    cases.push(request("body: empty with a JSON content type", validUrl, ["body"], { payload: "", headers: json }));
    cases.push(request("body: text/plain", validUrl, ["headers.content-type"], { payload: "fuzz", headers: { "content-type": "text/plain" } }));
    cases.push(request("body: Content-Length shorter than the body", validUrl, ["body"], { payload: validPayload ?? "{}", headers: { ...json, "content-length": "3" } }));

    for (const base of bodies as Record<string, unknown>[]) {
      const variant = variantFor(bodySchema, base);
      for (const member of Object.keys({ ...variant.properties, ...base })) {
        for (const { label, value, raw, refusedWhileParsing } of memberValues(variant.properties?.[member])) {
          const marker = "\u0001fuzz-raw\u0001";
          let payload = JSON.stringify({ ...base, [member]: raw !== undefined ? marker : value });
          if (raw !== undefined) payload = payload.replace(JSON.stringify(marker), raw);
          const fields = refusedWhileParsing ? ["body"] : [`body.${member}`];
          cases.push(request(`body.${member} (${String(base.kind ?? "")}) ${label}`, validUrl, fields, { payload, headers: json }));
        }
      }
    }
  }
  return cases;
}

/** The object schema a base body is valid for (the union member its `kind` picks). */
function variantFor(schema: Schema, base: Record<string, unknown>): Schema {
  const members = schema.oneOf ?? schema.anyOf;
  if (!members) return schema;
  return members.find((member) => member.properties?.kind?.enum?.includes(base.kind) ?? member.type === "object") ?? members[0]!;
}

describe.each(engines("the OpenAPI fuzz"))("every operation of /openapi.json, fuzzed, on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let admin: Session;

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
    admin = await signUpAdmin(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("answers malformed, oversized, nested, control-character and wrong-type input with a 4xx naming the field", async () => {
    const spec = (await api.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, Record<string, Operation>> };
    const failures: string[] = [];
    let sent = 0;
    const operations = new Set<string>();
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        operations.add(`${method.toUpperCase()} ${path}`);
        for (const fuzz of casesFor(path, method.toUpperCase(), operation)) {
          sent += 1;
          const response = await api.inject({
            method: fuzz.method as "GET",
            url: fuzz.url,
            headers: { ...bearer(admin.accessToken), ...fuzz.headers },
            ...(fuzz.payload !== undefined ? { payload: fuzz.payload } : {}),
          });
          let body: { field?: unknown; requestId?: unknown } = {};
          try {
            body = response.json();
          } catch {
            // not JSON: reported below
          }
          const field = typeof body.field === "string" ? body.field : undefined;
          const fieldOk = field !== undefined && fuzz.fields.some((prefix) => field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`));
          if (response.statusCode < 400 || response.statusCode >= 500 || !fieldOk || typeof body.requestId !== "string") {
            failures.push(`${fuzz.name}: ${response.statusCode} ${response.body.slice(0, 160)}`);
          }
        }
      }
    }
    // Every route is in the document (a route missing from it would escape the fuzz).
    expect([...operations]).toEqual(expect.arrayContaining(["POST /v1/instances", "POST /v1/instances/{id}/register", "GET /v1/admin/audit", "POST /v1/credentials"]));
    expect(sent).toBeGreaterThan(1000);
    expect(failures).toEqual([]);
    // Nothing was created by any of them.
    expect(await api.app.db.selectFrom("instances").select("id").execute()).toEqual([]);
    expect(await api.app.db.selectFrom("credentials").select("id").execute()).toEqual([]);
  }, 300_000);

  it.skipIf(skip)("routes every path parameter through its format: an id of another kind is a 400 too", async () => {
    const response = await api.inject({ method: "GET", url: `/v1/jobs/inst_${"0".repeat(32)}`, headers: bearer(admin.accessToken) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ field: "params.id" });
    expect(String(response.json().message)).toMatch(/a job id \(`job_`/);
  });
});
