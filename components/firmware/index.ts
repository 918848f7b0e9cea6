export * from "./args.js";
export { AwsFirmwareBucket, renderDataKeyPolicy, renderFirmwareBucketPolicy, renderSigningKeyPolicy } from "./aws.js";
export { GcpFirmwareBucket } from "./gcp.js";
export { DigitalOceanFirmwareBucket } from "./digitalocean.js";
export { firmwareKind, firmwareStack, parseFirmwareConfig, FIRMWARE_CONFIG_KEYS, type FirmwareStackConfig } from "./kind.js";
