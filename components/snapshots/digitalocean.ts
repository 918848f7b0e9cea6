/**
 * DigitalOcean has no snapshot-schedule resource: droplet backups are settings
 * of the droplet (`DigitalOceanHost` applies `digitalOceanBackupPolicy`), and
 * the state volume's snapshots come from ClawStack's volume snapshot job
 * (`runtime/digitalocean-volume-job.ts`), which finds volumes by the tags below.
 */
export { digitalOceanBackupPolicy, digitalOceanVolumeSnapshotTags, type DigitalOceanBackupPolicy } from "./schedule.js";
