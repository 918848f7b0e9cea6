import * as pulumi from "@pulumi/pulumi";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";
import { gunzipSync } from "node:zlib";
import { synthMocks } from "../program/mocks.js";
import { selectStack } from "../program/run-stack.js";
import { PROJECT_NAME } from "../program/synth.js";

/** The secret signature of Pulumi's serialized properties: mocks see secret inputs wrapped in it. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

function unwrapSecret(value: unknown): unknown {
  if (typeof value === "object" && value !== null && SECRET_SIG_KEY in value) return (value as unknown as { value: unknown }).value;
  return value;
}

function unwrapAll(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => {
      const plain = unwrapSecret(value);
      if (typeof plain === "object" && plain !== null && !Array.isArray(plain)) {
        return [key, Object.fromEntries(Object.entries(plain).map(([inner, innerValue]) => [inner, unwrapSecret(innerValue)]))];
      }
      return [key, plain];
    }),
  );
}

/** Where each cloud's instance carries its user-data, and how to read it back as `#cloud-config`. */
const USER_DATA: Record<string, (inputs: Record<string, unknown>) => string | undefined> = {
  "digitalocean:index/droplet:Droplet": (inputs) => inputs.userData as string | undefined,
  "aws:ec2/instance:Instance": (inputs) =>
    (inputs.userData as string | undefined) ??
    (inputs.userDataBase64 ? gunzipSync(Buffer.from(String(inputs.userDataBase64), "base64")).toString("utf8") : undefined),
  "gcp:compute/instance:Instance": (inputs) => {
    const value = (inputs.metadata as Record<string, string> | undefined)?.["user-data"];
    return value === undefined ? undefined : gunzipSync(Buffer.from(value, "base64")).toString("utf8");
  },
};

/**
 * The `#cloud-config` a host stack registers, exactly: the stack's config goes
 * through `selectStack` (the one parser) and the host program runs under the
 * synth's mocks, and the instance's user-data input is read back (secrets
 * unwrapped: the registration token is in it, so it is never printed).
 */
export async function renderStackUserData(stackName: string, config: Record<string, unknown>): Promise<string> {
  const { kind, config: parsed } = selectStack(config);
  const base = synthMocks();
  let userData: string | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const read = USER_DATA[args.type];
        if (read) userData = read(unwrapAll(args.inputs as Record<string, unknown>)) ?? userData;
        return base.newResource(args);
      },
      call: (args) => base.call(args),
    },
    PROJECT_NAME,
    stackName,
    false,
  );
  await runInPulumiStack(async () => kind.run(parsed));
  if (typeof userData !== "string" || !userData.startsWith("#cloud-config")) throw new Error(`the ${stackName} program registered no #cloud-config user-data`);
  return userData;
}
