/**
 * Writes `docs/clawchat-vectors.json` from `vectors.ts`. Run only when the
 * protocol changes on purpose, then update `docs/clawchat-protocol.md`:
 * `npx tsx tests/clawchat/write-vectors.ts`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { computeVectors } from "./vectors";

computeVectors().then(
  (vectors) => {
    const path = join(__dirname, "..", "..", "docs", "clawchat-vectors.json");
    writeFileSync(path, `${JSON.stringify(vectors, null, 2)}\n`);
    console.log(`wrote ${path}`);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
