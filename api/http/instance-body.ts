/**
 * The body of `POST /v1/instances`, on its own (zod and the shared field schemas only) so the
 * web dashboard validates its create form with this very schema before sending it. The server
 * then parses `options` with the host stack's own parser (api/engine/host-config.ts).
 */
import { z } from "zod";
import { boundedJsonObject } from "./bounded-json";
import { resourceId, text } from "./schemas";

export const createInstanceBody = z.strictObject({
  cloud: text(1, 32).describe("`digitalocean`, `aws` or `gcp`"),
  region: text(1, 64).describe("A region of that cloud, e.g. `nyc3`, `us-east-1`, `us-central1`"),
  size: text(1, 32).optional().describe("Size preset: `small` (default), `medium`, `large`"),
  name: text(1, 64).optional().describe("Base name of the host's resources (default `openclaw`)"),
  credentialId: resourceId("cred").optional().describe("Which of your credentials to use (default: your newest of that cloud)"),
  options: boundedJsonObject()
    .optional()
    .describe(
      "Every other `clawstack:*` stack config key: `gatewayCidrs` and `versions` (required), `zone`, `sshAccess`, `snapshots`, `tags`... (at most 8 levels deep, 1000 values, strings of 8192 characters, no control characters)",
    ),
});
