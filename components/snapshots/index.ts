export { AwsStateSnapshots, type AwsStateSnapshotsArgs, dlmTrustPolicy, DLM_SERVICE_POLICY_ARN } from "./aws.js";
export { GcpStateSnapshots, type GcpStateSnapshotsArgs } from "./gcp.js";
export * from "./schedule.js";
