/**
 * The engine layer's hook for per-job stack config: before an operation runs,
 * a worker hands the instance's stored config to its `ConfigPreparer`, which
 * may add values that exist only for this job (the registration token of an
 * `up`, `api/registration/prepare.ts`) and names the secrets it added so they
 * are redacted from the job's events. The worker (`api/jobs/worker.ts`) calls
 * it; registration implements it; neither imports the other.
 */
import type { Instance, Job } from "../db/schema";

/** Adds per-job config (e.g. the registration token of an `up`); returns the secrets it added. */
export type ConfigPreparer = (
  job: Job,
  instance: Instance,
  config: Record<string, unknown>,
) => Promise<{ config: Record<string, unknown>; secrets: string[]; note?: string }>;
