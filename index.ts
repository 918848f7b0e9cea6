/**
 * The ClawStack Pulumi program (`Pulumi.yaml` `main`). `pulumi up` calls the
 * exported function: it reads the stack's `clawstack:*` config through
 * `pulumi.Config`, picks the stack kind (`clawstack:kind`, default `host`)
 * from `program/kinds.ts`, validates the config with that kind's schema
 * (nothing is registered when it is refused) and runs it. The offline synth
 * (`npm run synth`) goes through the same `selectStack`, under mocks.
 *
 * `openClawStack(config)` is the host stack as one function, plain data in and
 * outputs out, for the provisioning API's Automation API inline program.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./core/errors.js";
import { openClawStack } from "./program/host-program.js";
import { readPulumiConfig } from "./program/pulumi-config.js";
import { runStack } from "./program/run-stack.js";
import { CONFIG_NAMESPACE } from "./program/stack-config.js";

/** Runs the current stack from its Pulumi config; its result becomes the stack's outputs. */
async function main(): Promise<Record<string, unknown>> {
  try {
    return await runStack(readPulumiConfig());
  } catch (error) {
    if (error instanceof ConfigError) {
      // A RunError prints its message without a stack trace: the key and what is wrong is all that helps.
      throw new pulumi.RunError(`config error in \`${CONFIG_NAMESPACE}:${error.key}\`: ${error.message}`);
    }
    throw error;
  }
}

// Pulumi calls a program whose export is a function and takes its result as
// the outputs; named exports would themselves become stack outputs.
export = Object.assign(main, { main, openClawStack });
