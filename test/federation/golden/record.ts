/**
 * Records the golden hashes (test/federation/golden/hashes.json) from the current code:
 *   node --import tsx test/federation/golden/record.ts [case …]
 * Run it only to pin behaviour before a change, or to re-record a case whose change is a named bug fix.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../../lib/backend";
import { GOLDEN_CASES, goldenHash } from "./cases";

const FILE = path.join(__dirname, "hashes.json");

async function main(): Promise<void> {
  await initBackend({ log: false });
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(GOLDEN_CASES);
  const hashes: Record<string, string> = fs.existsSync(FILE) ? JSON.parse(fs.readFileSync(FILE, "utf8")) : {};
  for (const name of names) {
    const run = GOLDEN_CASES[name];
    if (run === undefined) throw new Error(`record: unknown case "${name}"; known: ${Object.keys(GOLDEN_CASES).join(", ")}`);
    hashes[name] = goldenHash(await run());
    process.stdout.write(`${name} ${hashes[name]}\n`);
  }
  const sorted = Object.fromEntries(Object.keys(hashes).sort().map((k) => [k, hashes[k]]));
  fs.writeFileSync(FILE, JSON.stringify(sorted, null, 2) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
