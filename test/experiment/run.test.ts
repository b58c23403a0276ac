import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import { initBackend } from "../../lib/backend";
import {
  buildParticipantData,
  ExperimentResult,
  lastAndBest,
  parseExperimentConfig,
  ProgressEvent,
  runExperiment,
} from "../../lib/experiment/index";
import type { HistoryRow } from "../../lib/federation/history";
import { loadModel } from "../../lib/model/io";
import { getWeights } from "../../lib/model/modelWeights";
import { Trainer } from "../../lib/model/trainer";
import { REPORT_FIGURE_IDS } from "../../lib/report/reportHtml";
import { checkCharts, findChromium } from "../../lib/notebooks/checkCharts";
import { figureInPage, plotlyBundleCount } from "./fixtures/reportParsing";
import { parseRunArgs } from "../../bin/cli";

const ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "fedtune.js");

const config = parseExperimentConfig({
  name: "e2e-digits",
  seed: 7,
  data: { kind: "partition", dataset: "digits", participants: 3, limit: 600, partitioner: { kind: "dirichlet", alpha: 1, minSize: 40 } },
  model: { kind: "mlp", hiddenUnits: [32] },
  training: { learningRate: 0.05, batchSize: 16 },
  localPhase: { maxEpochs: 8, patience: 2 },
  federation: { rounds: 3 },
  personalisation: { method: "fedper" },
});

let dir = "";
let result: ExperimentResult;
const events: ProgressEvent[] = [];
let tensorsBefore = 0;

before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-run-"));
  tensorsBefore = tf.memory().numTensors;
  result = await runExperiment(config, { outDir: path.join(dir, "run"), onProgress: (e) => events.push(e) });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("a short real run writes every artefact and leaks no tensors", () => {
  const out = result.outDir;
  for (const f of [
    "config.json",
    "run.json",
    "metrics.csv",
    "metrics.arrow",
    "local-phase.csv",
    "local-phase.arrow",
    "local-phase.json",
    "summary.csv",
    "report.html",
    "checkpoint/checkpoint.json",
    "models/global/model.json",
    "models/global/weights.bin",
    "models/global-best/model.json",
    ...["p0", "p1", "p2"].flatMap((id) => [`models/local/${id}/model.json`, `models/personal/${id}/model.json`]),
  ]) {
    assert.ok(fs.existsSync(path.join(out, f)), `missing ${f}`);
  }
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")), config);
  const meta = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  assert.equal(meta.status, "complete");
  assert.equal(meta.roundsDone, 3);
  // CSV and Arrow hold the same history as the result.
  const csv = aq.fromCSV(fs.readFileSync(path.join(out, "metrics.csv"), "utf8"));
  const arrow = aq.fromArrow(fs.readFileSync(path.join(out, "metrics.arrow")));
  assert.equal(csv.numRows(), result.history.numRows());
  assert.equal(arrow.numRows(), result.history.numRows());
  assert.deepEqual(arrow.columnNames(), ["round", "participant", "scope", "metric", "value"]);
  assert.equal(aq.fromCSV(fs.readFileSync(path.join(out, "summary.csv"), "utf8")).numRows(), 4, "3 participants + mean");
  assert.equal(tf.memory().numTensors, tensorsBefore, "tensors leaked");
});

test("progress: setup, every participant of phase 1, every round, the report", () => {
  const last = (phase: string): ProgressEvent | undefined => events.filter((e) => e.phase === phase && !e.sub).pop();
  assert.deepEqual([last("setup")?.done, last("setup")?.total], [2, 2]);
  assert.deepEqual(events.filter((e) => e.phase === "local" && e.done > 0).map((e) => e.label), ["participant p0", "participant p1", "participant p2"]);
  assert.deepEqual(events.filter((e) => e.phase === "federated" && !e.sub && /^round [1-9]/.test(e.label)).map((e) => e.done), [1, 2, 3]);
  // Inside each round, one sub-step per participant that trained.
  assert.equal(events.filter((e) => e.phase === "federated" && e.sub).length, 9);
  assert.equal(last("report")?.done, last("report")?.total);
});

test("the final table agrees with the history and with the saved models", async () => {
  const rows = result.history.objects() as unknown as HistoryRow[];
  const p0 = result.results[0];
  assert.equal(p0.participant, "p0");
  // Best = test accuracy of the round with the lowest validation loss (round 0 included, ties → earliest), computed here by hand.
  const bestByHand = (scope: string): { round: number; accuracy: number } => {
    const mine = rows.filter((r) => r.participant === "p0" && r.scope === scope);
    const val = mine.filter((r) => r.metric === "valLoss" && !Number.isNaN(r.value)).sort((a, b) => a.value - b.value || a.round - b.round)[0];
    return { round: val.round, accuracy: (mine.find((r) => r.metric === "accuracy" && r.round === val.round) as HistoryRow).value };
  };
  const personal = rows.filter((r) => r.participant === "p0" && r.scope === "personal");
  const accAt = (round: number): number => (personal.find((r) => r.metric === "accuracy" && r.round === round) as HistoryRow).value;
  assert.deepEqual([p0.personalBestRound, p0.personalBest], [bestByHand("personal").round, bestByHand("personal").accuracy]);
  assert.deepEqual([p0.globalBestRound, p0.globalBest], [bestByHand("global").round, bestByHand("global").accuracy]);
  assert.equal(p0.personalLast, accAt(3));
  assert.deepEqual(lastAndBest(rows, "p0", "personal"), { last: p0.personalLast, best: p0.personalBest, bestRound: p0.personalBestRound });
  // The mean row is the mean of the participants' rows.
  const mean = result.results[3];
  assert.equal(mean.participant, "mean");
  assert.ok(Math.abs(mean.globalLast - (result.results[0].globalLast + result.results[1].globalLast + result.results[2].globalLast) / 3) < 1e-12);
  // Phase 1 numbers are those of the local-only model saved in models/local.
  const data = buildParticipantData(config);
  for (const [i, kind, expected] of [
    [0, "personal", p0.personalLast],
    [1, "local", result.results[1].localOnly],
  ] as const) {
    const model = await loadModel(path.join(result.outDir, "models", kind, `p${i}`));
    try {
      const acc = new Trainer(model).evaluate(getWeights(model), data[i].data.test).accuracy;
      assert.equal(acc, expected, `${kind} model of p${i}`);
    } finally {
      model.dispose();
    }
  }
  // FedPer keeps heads personal: the personal models beat the shared model with its averaged head.
  assert.ok(mean.personalLast > mean.globalLast, `personal ${mean.personalLast} vs global ${mean.globalLast}`);
});

test("report.html: plotly inlined once, one trace per participant, offline, and it draws in Chromium", async (t) => {
  const file = result.reportPath as string;
  const html = fs.readFileSync(file, "utf8");
  assert.equal(plotlyBundleCount(html), 1);
  assert.ok(!/<script[^>]+src=|<link[^>]+href="http/i.test(html), "no external scripts or styles");
  for (const key of ["personalAccuracy", "globalAccuracy"] as const) {
    const fig = figureInPage(html, REPORT_FIGURE_IDS[key]);
    assert.deepEqual(fig.data.map((d) => d.name), ["p0", "p1", "p2"], key);
    // The global model is evaluated from round 0 (before training); personal models exist from round 1.
    for (const d of fig.data) assert.deepEqual(d.x, key === "globalAccuracy" ? [0, 1, 2, 3] : [1, 2, 3]);
  }
  assert.deepEqual(figureInPage(html, REPORT_FIGURE_IDS.localPhase).data.map((d) => d.name), ["p0", "p1", "p2"]);
  const labels = figureInPage(html, REPORT_FIGURE_IDS.labelDistribution);
  assert.equal(labels.data.length, 10, "one bar trace per class");
  assert.match(html, /<th scope="row">p0<\/th>/);
  const chromium = await findChromium();
  assert.ok(chromium, "a Chromium to check the charts (npm install brings @sparticuz/chromium)");
  const [page] = await checkCharts([file], chromium.executablePath);
  assert.deepEqual(page.errors, []);
  assert.equal(page.charts, 5);
  assert.equal(page.drawn, 5);
});

test("a new run refuses a non-empty folder and points to --resume", async () => {
  await assert.rejects(runExperiment(config, { outDir: result.outDir }), /already exists and is not empty; continue it with --resume/);
});

test("CLI arguments (util.parseArgs): --opt=value and --opt value, repeated --set; unknown or incomplete options are usage errors", () => {
  assert.deepEqual(parseRunArgs(["c.yaml", "--out=o", "--set", "a=1", "--set=b=2", "--no-report", "--plain"]), {
    configFile: "c.yaml",
    resume: undefined,
    out: "o",
    runsDir: "runs",
    sets: ["a=1", "b=2"],
    repetitions: undefined,
    seeds: undefined,
    jobs: undefined,
    report: false,
    quiet: false,
    plain: true,
    help: false,
  });
  assert.throws(() => parseRunArgs(["c.yaml", "--outt", "o"]), /Unknown option '--outt'; see fedtune run --help/);
  assert.throws(() => parseRunArgs(["c.yaml", "--out"]), /--out <value>' argument missing/);
  assert.throws(() => parseRunArgs(["a.yaml", "b.yaml"]), /one config file only, got a\.yaml and b\.yaml/);
  const r = spawnSync(process.execPath, [CLI, "run", "x.json", "--rounds", "3"], { encoding: "utf8", env: { ...process.env, FEDTUNE_QUIET: "1" } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /fedtune: Unknown option '--rounds'; see fedtune run --help/);
});

test("CLI: bad config → exit 2 naming the field; run --help lists the fields; unknown command → 2", () => {
  const bad = path.join(dir, "bad.json");
  fs.writeFileSync(bad, JSON.stringify({ federation: { strategy: { name: "FedAvgg" } }, training: { learnignRate: 0.1 } }));
  const env = { ...process.env, FEDTUNE_QUIET: "1" };
  const r = spawnSync(process.execPath, [CLI, "run", bad], { encoding: "utf8", env, cwd: dir });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /federation\.strategy\.name: "FedAvgg" is not allowed \(did you mean "FedAvg"\?\); allowed values: FedAvg, FedProx/);
  assert.match(r.stderr, /training\.learnignRate: unknown field \(did you mean "learningRate"\?\)/);
  assert.ok(!fs.existsSync(path.join(dir, "runs")), "no run folder for a bad config");
  const help = spawnSync(process.execPath, [CLI, "run", "--help"], { encoding: "utf8", env });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--resume <dir>/);
  assert.match(help.stdout, /federation\.strategy\.name .*default "FedAvg"/);
  assert.match(help.stdout, /FEDTUNE_DATA_DIR=<dir> +read the datasets from <dir>/);
  const unknown = spawnSync(process.execPath, [CLI, "frobnicate"], { encoding: "utf8", env });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
