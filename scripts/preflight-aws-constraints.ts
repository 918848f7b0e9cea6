/**
 * Regenerates program/preflight/aws-constraints.json from the installed
 * botocore models (Debian: `apt-get install python3-botocore`):
 *
 *   npx tsx scripts/preflight-aws-constraints.ts [--data-dir <botocore/data>]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { botocoreVersion, DEBIAN_BOTOCORE_DATA, extractAwsConstraints } from "../program/preflight/botocore.js";

const { values } = parseArgs({ options: { "data-dir": { type: "string" } } });
const dataDir = values["data-dir"] ?? DEBIAN_BOTOCORE_DATA;
const table = extractAwsConstraints(dataDir, botocoreVersion(dataDir));
const out = join(__dirname, "..", "program", "preflight", "aws-constraints.json");
writeFileSync(out, `${JSON.stringify(table, null, 2)}\n`);
console.log(`wrote ${out}: ${Object.keys(table.constraints).length} shapes from ${table.generatedFrom}`);
