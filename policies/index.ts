/**
 * The ClawStack CrossGuard policy pack: `pulumi preview --policy-pack policies`.
 * Only builds the pack (its constructor starts the analyzer's gRPC server);
 * the rules live in `policies.ts` so tests and the reviewer can load them
 * without starting a server.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("clawstack", { policies: [...policies] });
