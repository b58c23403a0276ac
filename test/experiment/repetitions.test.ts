import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aq from "arquero";
import { initBackend } from "../../lib/backend";
import {
  formatDifference,
  formatIntervalTable,
  pairedMeanDifference,
  parseExperimentConfig,
  repetitionDir,
  repetitionSeeds,
  resultIntervals,
  runExperiment,
  runRepetitions,
  singleSeedConfig,
} from "../../lib/experiment/index";
import type { ParticipantResult, RepetitionsResult } from "../../lib/experiment/index";
import { REPETITION_FIGURE_ID } from "../../lib/report/repetitionReport";
import { parseRunArgs } from "../../bin/cli";

const raw = {
  name: "reps-digits",
  seeds: [3, 8],
  data: { kind: "partition", dataset: "digits", participants: 3, limit: 450, partitioner: { kind: "shard", shardsPerParticipant: 4 } },
  model: { kind: "mlp", hiddenUnits: [16] },
  training: { learningRate: 0.05, batchSize: 16 },
  localPhase: { maxEpochs: 3, patience: 1 },
  federation: { rounds: 2 },
};
const config = parseExperimentConfig(raw);

let dir = "";
let reps: RepetitionsResult;

const sha = (file: string): string => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-reps-"));
  // Two worker threads, one repetition each.
  reps = await runRepetitions(config, { outDir: path.join(dir, "set"), jobs: 2 });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("seeds and repetitions: the seeds a config asks for, and checks naming the field", () => {
  assert.deepEqual(repetitionSeeds(config), [3, 8]);
  assert.deepEqual(repetitionSeeds(parseExperimentConfig({ seed: 5, repetitions: 3 })), [5, 6, 7]);
  assert.deepEqual(repetitionSeeds(parseExperimentConfig({ seed: 5 })), [5]);
  assert.throws(() => parseExperimentConfig({ seeds: [1, 2, 1] }, "c.json"), /c\.json[\s\S]*seeds[\s\S]*seed 1 twice/);
  assert.throws(() => parseExperimentConfig({ seeds: [1, 2], repetitions: 3 }, "c.json"), /repetitions[\s\S]*is 3 but seeds lists 2/);
  assert.throws(() => parseExperimentConfig({ repetitions: 0 }), /repetitions/);
  // One seed's config is exactly what a single run with that seed resolves to.
  const { seeds: _s, ...single } = raw;
  assert.deepEqual(singleSeedConfig(config, 8), parseExperimentConfig({ ...single, seed: 8 }));
});

test("fedtune run parses --repetitions, --seeds and --jobs, and names a bad value", () => {
  const a = parseRunArgs(["c.json", "--seeds", "1, 2,3", "--jobs", "2"]);
  assert.deepEqual(a.seeds, [1, 2, 3]);
  assert.equal(a.jobs, 2);
  assert.equal(parseRunArgs(["c.json", "--repetitions", "5"]).repetitions, 5);
  assert.throws(() => parseRunArgs(["c.json", "--seeds", "1,x"]), /--seeds needs a comma-separated list/);
  assert.deepEqual(parseRunArgs(["c.json", "--seeds", "1..5"]).seeds, [1, 2, 3, 4, 5]);
  assert.deepEqual(parseRunArgs(["c.json", "--seeds", "0..1,7, 9..9"]).seeds, [0, 1, 7, 9]);
  assert.throws(() => parseRunArgs(["c.json", "--seeds", "5..1"]), /--seeds needs .* or ranges a\.\.b, like 1,2,3 or 1\.\.5; got "5\.\.1"/);
  assert.throws(() => parseRunArgs(["c.json", "--seeds", "1...3"]), /--seeds needs/);
  assert.throws(() => parseRunArgs(["c.json", "--repetitions", "0"]), /--repetitions needs an integer ≥ 1, got "0"/);
});

test("repetition k of a multi-seed run on worker threads equals a single run with that seed, bit for bit", async () => {
  const single = await runExperiment(singleSeedConfig(config, 8), { outDir: path.join(dir, "single-8"), report: false });
  const rep = reps.repetitions.find((r) => r.seed === 8)!;
  assert.equal(rep.outDir, repetitionDir(reps.outDir, 8));
  for (const f of ["metrics.csv", "local-phase.csv", "summary.csv"]) {
    assert.equal(sha(path.join(rep.outDir, f)), sha(path.join(single.outDir, f)), `${f} of seed 8`);
  }
  assert.deepEqual(rep.results, single.results);
  // The two seeds differ (the seed reaches the data split and the training).
  assert.notEqual(sha(path.join(repetitionDir(reps.outDir, 3), "metrics.csv")), sha(path.join(rep.outDir, "metrics.csv")));
  // Serial on the main thread gives the same repetitions.
  const serial = await runRepetitions(parseExperimentConfig({ ...raw, seeds: [8] }), { outDir: path.join(dir, "serial"), jobs: 1, report: false });
  assert.equal(sha(path.join(repetitionDir(serial.outDir, 8), "metrics.csv")), sha(path.join(rep.outDir, "metrics.csv")));
});

test("summary.csv holds mean, lo, hi, n per participant and figure, as computed by hand from the two seeds", () => {
  const csv = aq.fromCSV(fs.readFileSync(path.join(reps.outDir, "summary.csv"), "utf8"));
  for (const c of ["participant", "measure", "mean", "lo", "hi", "n"]) assert.ok(csv.columnNames().includes(c), c);
  const rows = csv.objects() as Array<{ participant: string; measure: string; mean: number; lo: number; hi: number; n: number }>;
  const [a, b] = reps.repetitions.map((r) => r.results.find((x) => x.participant === "mean")!.personalBest);
  const row = rows.find((r) => r.participant === "mean" && r.measure === "personalBest")!;
  // n = 2: mean (a+b)/2, s = |a−b|/√2, half-width t(0.975, 1)·s/√2 = 12.7062047·|a−b|/2.
  assert.equal(row.n, 2);
  assert.ok(Math.abs(row.mean - (a + b) / 2) < 1e-12);
  assert.ok(Math.abs(row.hi - row.mean - (12.7062047 * Math.abs(a - b)) / 2) < 1e-6);
  assert.ok(Math.abs(row.mean - row.lo - (12.7062047 * Math.abs(a - b)) / 2) < 1e-6);
  const perSeed = aq.fromCSV(fs.readFileSync(path.join(reps.outDir, "repetitions.csv"), "utf8"));
  assert.deepEqual([...new Set(perSeed.array("seed") as number[])], [3, 8]);
});

test("the set's report shows the interval table and a chart with error bars", () => {
  const html = fs.readFileSync(reps.reportPath!, "utf8");
  assert.ok(html.includes(`id="${REPETITION_FIGURE_ID}"`));
  assert.ok(html.includes("error_y"));
  assert.ok(html.includes("seeds 3, 8"));
  assert.match(html, /\d+\.\d ± \d+\.\d%/);
});

test("resultIntervals: three seeds by hand (t(0.975, 2) = 4.3026527), and a clear error when the participants differ", () => {
  const row = (participant: string, v: number): ParticipantResult => ({
    participant, trainSamples: 10, localOnly: v, globalLast: v, globalBest: v, globalBestRound: 1, personalLast: NaN, personalBest: NaN, personalBestRound: NaN,
  });
  const iv = resultIntervals([[row("a", 0.8)], [row("a", 0.85)], [row("a", 0.9)]]);
  const lo = iv.find((r) => r.measure === "localOnly")!;
  // mean 0.85, s = 0.05, half-width 4.3026527 · 0.05 / √3 = 0.124207…
  assert.ok(Math.abs(lo.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(lo.std - 0.05) < 1e-12);
  assert.ok(Math.abs(lo.halfWidth - (4.3026527 * 0.05) / Math.sqrt(3)) < 1e-7);
  assert.ok(Math.abs(lo.lo - (0.85 - 0.1242070)) < 1e-6 && Math.abs(lo.hi - (0.85 + 0.1242070)) < 1e-6);
  assert.ok(Number.isNaN(iv.find((r) => r.measure === "personalBest")!.mean));
  assert.match(formatIntervalTable(iv), /85\.0 ± 12\.4%/);
  assert.throws(() => resultIntervals([[row("a", 1)], [row("b", 1)]]), /repetition 1 lists participants b, the first lists a/);
});

test("the interval table rules off the mean row and the central row after it", () => {
  const row = (participant: string, v: number): ParticipantResult => ({
    participant, trainSamples: 10, localOnly: v, globalLast: v, globalBest: v, globalBestRound: 1, personalLast: v, personalBest: v, personalBestRound: 1,
  });
  const table = (c: number): ParticipantResult[] => [row("a", 0.8), row("mean", 0.8), row("central", c)];
  const lines = formatIntervalTable(resultIntervals([table(0.7), table(0.72), table(0.74)])).split("\n");
  assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ["participant", lines[1].split(/\s+/)[0], "a", lines[1].split(/\s+/)[0], "mean", "central"]);
  assert.match(lines[1], /^─+/);
  assert.match(lines[5], /central +72\.0 ± 5\.0%/);
});

test("pairedMeanDifference: the per-seed differences' mean ± t·s/√n, by hand", () => {
  const mean = (personalBest: number, localOnly: number): ParticipantResult[] => [
    { participant: "mean", trainSamples: 1, localOnly, globalLast: 0, globalBest: 0, globalBestRound: NaN, personalLast: 0, personalBest, personalBestRound: NaN },
  ];
  // Differences 0.02, 0.04, 0.06: mean 0.04, s 0.02, half-width 4.3026527 · 0.02 / √3.
  const d = pairedMeanDifference([mean(0.82, 0.8), mean(0.74, 0.7), mean(0.96, 0.9)], "personalBest", "localOnly");
  assert.ok(Math.abs(d.mean - 0.04) < 1e-12);
  assert.ok(Math.abs(d.halfWidth - (4.3026527 * 0.02) / Math.sqrt(3)) < 1e-7);
  assert.equal(formatDifference(d), "+4.0 ± 5.0 points (95 % interval −1.0 … +9.0, contains zero)");
});
