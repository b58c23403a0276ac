import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const FEDERATION = path.join(ROOT, "lib", "federation");

/** Every .ts file under `dir`. */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

/** The relative module specifiers a file imports or re-exports, resolved to paths under lib/. */
function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, "utf8");
  const specs = [...src.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  return specs.filter((s) => s.startsWith(".")).map((s) => path.relative(path.join(ROOT, "lib"), path.resolve(path.dirname(file), s)));
}

test("lib/federation imports nothing from lib/privacy, lib/experiment or lib/flower", () => {
  const files = tsFiles(FEDERATION);
  assert.ok(files.length > 20, `found ${files.length} files`);
  const bad: string[] = [];
  for (const f of files) {
    for (const target of importsOf(f)) {
      const top = target.split(path.sep)[0];
      if (top === "privacy" || top === "experiment" || top === "flower") bad.push(`${path.relative(ROOT, f)} → lib/${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("the import check sees real imports (it would catch lib/privacy)", () => {
  const dp = path.join(ROOT, "lib", "privacy", "dpStrategy.ts");
  assert.ok(importsOf(dp).some((t) => t.startsWith(`federation${path.sep}`)), "dpStrategy.ts imports lib/federation");
});

test("the round loop has no instanceof of a concrete strategy, personalisation or executor", () => {
  const loopFiles = ["federation.ts", "roundPlan.ts", "collectUpdates.ts", "aggregateRound.ts", "evaluateModels.ts", "convergence.ts", "runState.ts", "checkpointObserver.ts"];
  for (const f of loopFiles) {
    const src = fs.readFileSync(path.join(FEDERATION, f), "utf8");
    const uses = [...src.matchAll(/instanceof\s+(\w+)/g)].map((m) => m[1]).filter((c) => c !== "Error" && c !== "AggregationRefused");
    assert.deepEqual(uses, [], `${f} uses instanceof ${uses.join(", ")}`);
    assert.ok(!/=== serialFitExecutor/.test(src), `${f} compares with serialFitExecutor`);
  }
  const lines = fs.readFileSync(path.join(FEDERATION, "federation.ts"), "utf8").split("\n").length;
  assert.ok(lines <= 250, `federation.ts has ${lines} lines (aim: ≤ 250)`);
});
