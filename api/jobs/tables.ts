/**
 * The job queue's row types, for modules that imported them from here before
 * every table moved into the one schema module (`api/db/schema.ts`). It
 * declares nothing; import from the schema module in new code.
 */
export type {
  Cloud,
  Instance,
  InstancesTable,
  InstanceSecretsTable,
  InstanceStatus,
  Job,
  JobEvent,
  JobEventsTable,
  JobState,
  JobsTable,
  RegistrationTokensTable,
} from "../db/schema";
