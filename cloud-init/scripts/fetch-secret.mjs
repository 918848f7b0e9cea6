// Reads the gateway token from the cloud's secret store with the host's own
// identity (AWS: instance role via IMDSv2, SigV4-signed SSM GetParameter with
// decryption; GCP: the service account's metadata token, Secret Manager
// `versions/latest:access`). Prints the token on stdout, nothing else; errors
// name the step, never the secret.
//
// Usage: node fetch-secret.mjs aws-ssm <region> <parameter-name>
//        node fetch-secret.mjs gcp-secret-manager <project> <secret-name>
// CLAWSTACK_METADATA_BASE and CLAWSTACK_SECRET_ENDPOINT replace the metadata
// server and the secret store's endpoint (tests use loopback stand-ins).
import { createHash, createHmac } from "node:crypto";

const metadataBase = process.env.CLAWSTACK_METADATA_BASE ?? "http://169.254.169.254";
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{32,512}$/;

function fail(message) {
  process.stderr.write(`fetch-secret: ${message}\n`);
  process.exit(1);
}

async function call(step, url, init) {
  let response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    fail(`${step}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) fail(`${step}: HTTP ${response.status}`);
  return response;
}

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

async function awsSsm(region, name) {
  const imdsToken = await (
    await call("IMDSv2 token", `${metadataBase}/latest/api/token`, {
      method: "PUT",
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": "300" },
    })
  ).text();
  const imds = { "X-aws-ec2-metadata-token": imdsToken };
  const credentialsPath = `${metadataBase}/latest/meta-data/iam/security-credentials/`;
  const role = (await (await call("instance role", credentialsPath, { headers: imds })).text()).split("\n")[0].trim();
  if (!role) fail("instance role: the instance has no role");
  const credentials = await (await call("role credentials", credentialsPath + role, { headers: imds })).json();

  const endpoint = process.env.CLAWSTACK_SECRET_ENDPOINT ?? `https://ssm.${region}.amazonaws.com`;
  const host = new URL(endpoint).host;
  const body = JSON.stringify({ Name: name, WithDecryption: true });
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers = {
    "content-type": "application/x-amz-json-1.1",
    host,
    "x-amz-date": amzDate,
    "x-amz-security-token": credentials.Token,
    "x-amz-target": "AmazonSSM.GetParameter",
  };
  const signedHeaders = Object.keys(headers).sort().join(";");
  const canonicalHeaders = Object.keys(headers)
    .sort()
    .map((key) => `${key}:${headers[key]}\n`)
    .join("");
  const canonicalRequest = ["POST", "/", "", canonicalHeaders, signedHeaders, sha256Hex(body)].join("\n");
  const scope = `${day}/${region}/ssm/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.SecretAccessKey}`, day), region), "ssm"), "aws4_request");
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  const authorization = `AWS4-HMAC-SHA256 Credential=${credentials.AccessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  const { host: _host, ...sent } = headers;
  const answer = await (
    await call("SSM GetParameter", `${endpoint}/`, { method: "POST", headers: { ...sent, authorization }, body })
  ).json();
  return answer?.Parameter?.Value;
}

async function gcpSecretManager(project, name) {
  const token = await (
    await call("service account token", `${metadataBase}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { "Metadata-Flavor": "Google" },
    })
  ).json();
  const endpoint = process.env.CLAWSTACK_SECRET_ENDPOINT ?? "https://secretmanager.googleapis.com";
  const url = `${endpoint}/v1/projects/${encodeURIComponent(project)}/secrets/${encodeURIComponent(name)}/versions/latest:access`;
  const answer = await (
    await call("Secret Manager access", url, { headers: { Authorization: `Bearer ${token.access_token}` } })
  ).json();
  const data = answer?.payload?.data;
  return typeof data === "string" ? Buffer.from(data, "base64").toString("utf8") : undefined;
}

const [source, where, name] = process.argv.slice(2);
if (!where || !name) fail("usage: fetch-secret.mjs aws-ssm|gcp-secret-manager <region|project> <name>");
let value;
if (source === "aws-ssm") value = await awsSsm(where, name);
else if (source === "gcp-secret-manager") value = await gcpSecretManager(where, name);
else fail(`unknown source ${JSON.stringify(source)}`);
const token = typeof value === "string" ? value.replace(/\r?\n$/, "") : "";
if (!TOKEN_PATTERN.test(token)) {
  fail("the stored secret is not a usable gateway token (32 to 512 characters of A-Z a-z 0-9 . _ ~ + / = -)");
}
process.stdout.write(token);
