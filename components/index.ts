/**
 * ClawStack's Pulumi components, for this project's stacks and for any other
 * Pulumi TypeScript program: `import { AwsHost } from "clawstack/components"`
 * (built by `npm run build`; see `examples/`). Each folder also has its own
 * entry (`clawstack/components/host`, `.../snapshots`, `.../access`,
 * `.../firmware`), which loads only that folder's cloud SDK modules.
 */
export * from "./host/index.js";
export * from "./snapshots/index.js";
export * from "./access/index.js";
export * from "./firmware/index.js";
