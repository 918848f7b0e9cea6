/**
 * Runtime code the provisioning API and operators call, above the components:
 * cloud API clients (AWS STS, DigitalOcean), the DigitalOcean token check, the
 * DigitalOcean state-volume snapshot job, instance power actions (stop, start,
 * reboot on each cloud) and the access CLI (`npm run access`).
 * Nothing here declares Pulumi resources; the components never import it.
 */
export * from "./aws-sts.js";
export * from "./digitalocean-api.js";
export * from "./digitalocean-token-check.js";
export * from "./digitalocean-volume-job.js";
export * from "./power.js";
export * from "./gcp-auth.js";
