/**
 * `npm run bench [-- <filter>]`: runs every `bench/*.bench.ts` module in turn.
 * Each module's default export measures one area and prints its figures next
 * to a baseline measured in the same run (never a fixed threshold).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

async function main(): Promise<void> {
  const filter = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((file) => file.endsWith(".bench.ts"))
    .filter((file) => !filter || file.includes(filter))
    .sort();
  if (files.length === 0) {
    console.error(`no benchmark matches ${filter ? `\`${filter}\`` : "bench/*.bench.ts"}`);
    process.exit(2);
  }
  for (const file of files) {
    console.log(`\n## ${file.replace(/\.bench\.ts$/, "")}`);
    const module = (await import(join(__dirname, file))) as { default: () => Promise<void> };
    await module.default();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
