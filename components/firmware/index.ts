export * from "./aws.js";
export * from "./gcp.js";
export * from "./digitalocean.js";
export { firmwareKind, type FirmwareStackConfig } from "./kind.js";
