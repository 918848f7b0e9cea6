import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/**
 * The AWS API constraints preflight checks, taken from the service models
 * AWS publishes (botocore's `data/<service>/<version>/service-2.json`, as
 * Debian's `python3-botocore` ships them). `extractAwsConstraints` reads the
 * shapes listed in `AWS_CONSTRAINT_SHAPES` from a botocore data directory;
 * `scripts/preflight-aws-constraints.ts` writes its result to
 * `aws-constraints.json` (committed), and a test re-derives it whenever
 * botocore is installed, so the committed table cannot drift from the models.
 */

/** Where Debian's python3-botocore keeps the models. */
export const DEBIAN_BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data";

/** `<service>.<Shape>`: every shape a preflight rule uses. */
export const AWS_CONSTRAINT_SHAPES = [
  "dlm.ScheduleName",
  "dlm.PolicyDescription",
  "dlm.SettablePolicyStateValues",
  "dlm.ResourceTypeValues",
  "dlm.Time",
  "dlm.Interval",
  "dlm.IntervalUnitValues",
  "dlm.CronExpression",
  "dlm.StandardTierRetainRuleCount",
  "dlm.TagKey",
  "dlm.TagValue",
  "dlm.TagsToAddList",
  "dlm.TargetTagList",
  "dlm.ExecutionRoleArn",
  "iam.pathType",
  "iam.roleDescriptionType",
  "iam.arnType",
  "iam.tagKeyType",
  "iam.tagValueType",
  "iam.tagListType",
  "iam.policyDocumentType",
  "iam.roleNameType",
  "iam.roleMaxSessionDurationType",
  "iam.policyNameType",
  "iam.policyDescriptionType",
  "iam.policyPathType",
  "kms.DescriptionType",
  "kms.KeyUsageType",
  "kms.KeySpec",
  "kms.PendingWindowInDaysType",
  "kms.TagKeyType",
  "kms.TagValueType",
  "s3.ObjectLockRetentionMode",
  "s3.ObjectOwnership",
  "s3.BucketVersioningStatus",
  "ssm.PSParameterName",
  "ssm.ParameterDescription",
  "ssm.ParameterType",
  "ssm.ParameterKeyId",
  "ssm.TagKey",
  "ssm.TagValue",
  "ec2.InstanceType",
  "ec2.VolumeType",
  "ec2.HttpTokensState",
  "ec2.InstanceMetadataTagsState",
  "ec2.DomainType",
  "resourcegroupstaggingapi.TagKey",
  "resourcegroupstaggingapi.TagValue",
] as const;

export type AwsConstraintShape = (typeof AWS_CONSTRAINT_SHAPES)[number];

/** One shape's constraints, with where they come from. */
export interface AwsConstraint {
  /** The model file, relative to botocore's `data/`, e.g. `dlm/2018-01-12/service-2.json`. */
  source: string;
  shape: string;
  type: "string" | "integer" | "list";
  min?: number;
  max?: number;
  /** As the model gives it; AWS matches it against the whole value. */
  pattern?: string;
  enum?: string[];
}

export interface AwsConstraintTable {
  /** What the table was extracted from (`python3-botocore <version>`). */
  generatedFrom: string;
  constraints: Record<AwsConstraintShape, AwsConstraint>;
}

/** The newest API version directory of `service` that has a model. */
function modelFile(dataDir: string, service: string): string {
  const versions = readdirSync(join(dataDir, service)).sort();
  for (const version of versions.reverse()) {
    for (const name of ["service-2.json", "service-2.json.gz"]) {
      if (existsSync(join(dataDir, service, version, name))) return `${service}/${version}/${name}`;
    }
  }
  throw new Error(`no service-2.json for ${service} under ${dataDir}`);
}

function readModel(dataDir: string, relative: string): { shapes: Record<string, Record<string, unknown>> } {
  const bytes = readFileSync(join(dataDir, relative));
  return JSON.parse((relative.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")) as { shapes: Record<string, Record<string, unknown>> };
}

/** Reads every shape of `AWS_CONSTRAINT_SHAPES` from a botocore data directory. */
export function extractAwsConstraints(dataDir: string, generatedFrom: string): AwsConstraintTable {
  const models = new Map<string, { source: string; shapes: Record<string, Record<string, unknown>> }>();
  const constraints = {} as Record<AwsConstraintShape, AwsConstraint>;
  for (const id of AWS_CONSTRAINT_SHAPES) {
    const [service, shapeName] = id.split(".") as [string, string];
    let model = models.get(service);
    if (!model) {
      const source = modelFile(dataDir, service);
      model = { source, ...readModel(dataDir, source) };
      models.set(service, model);
    }
    const shape = model.shapes[shapeName];
    if (!shape) throw new Error(`${model.source} has no shape ${shapeName}`);
    const type = shape.type as string;
    if (type !== "string" && type !== "integer" && type !== "list") throw new Error(`${id} is a ${type}; preflight checks strings, integers and lists`);
    constraints[id] = {
      source: model.source,
      shape: shapeName,
      type,
      ...(typeof shape.min === "number" ? { min: shape.min } : {}),
      ...(typeof shape.max === "number" ? { max: shape.max } : {}),
      ...(typeof shape.pattern === "string" ? { pattern: shape.pattern } : {}),
      ...(Array.isArray(shape.enum) ? { enum: shape.enum as string[] } : {}),
    };
  }
  return { generatedFrom, constraints };
}

/** The installed python3-botocore's version (from its `__init__.py`), for `generatedFrom`. */
export function botocoreVersion(dataDir: string): string {
  const init = readFileSync(join(dataDir, "..", "__init__.py"), "utf8");
  const version = /__version__ = ['"]([^'"]+)['"]/.exec(init)?.[1];
  return `python3-botocore ${version ?? "unknown"}`;
}
