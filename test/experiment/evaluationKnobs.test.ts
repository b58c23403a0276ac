// The evaluation knobs of an experiment config, end to end on a real (small) run: local validation
// and test fractions of 0 (train on every local sample; the documented consequences) and a central
// test set whose figures reach the history, summary.csv, the printed table and the report.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { buildParticipantData, ExperimentResult, parseExperimentConfig, runExperiment } from "../../lib/experiment/index";
import { loadDataset } from "../../lib/data/loadDataset";
import { loadModel } from "../../lib/model/io";
import { getWeights } from "../../lib/model/modelWeights";
import { Trainer } from "../../lib/model/trainer";

const config = parseExperimentConfig({
  name: "knobs",
  seed: 11,
  data: { kind: "partition", dataset: "digits", participants: 3, limit: 300, validationFraction: 0, testFraction: 0 },
  model: { kind: "mlp", hiddenUnits: [16] },
  training: { learningRate: 0.05, batchSize: 16, earlyStoppingPatience: 1 },
  localPhase: { maxEpochs: 3, patience: 1 },
  federation: { rounds: 2 },
  evaluation: { central: { dataset: "digits", size: 200 } },
  personalisation: { method: "fedper" },
});

let dir = "";
let result: ExperimentResult;

before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-knobs-"));
  result = await runExperiment(config, { outDir: path.join(dir, "run") });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("fractions of 0: every local sample trains, early stopping has nothing to watch, figures selected by validation are NaN", () => {
  const parts = buildParticipantData(config);
  assert.deepEqual(parts.map((p) => [p.data.validation.y.length, p.data.test.y.length]), [[0, 0], [0, 0], [0, 0]]);
  assert.equal(parts.reduce((a, p) => a + p.data.train.y.length, 0), 300, "all 300 samples train");
  // Phase 1 with patience 1 but no validation split runs every epoch.
  assert.deepEqual(result.localPhase.map((l) => l.epochs), [3, 3, 3]);
  const rows = result.history.objects() as Array<{ participant: string; scope: string; metric: string; value: number }>;
  const participantAcc = rows.filter((r) => r.participant !== "server" && r.metric === "accuracy");
  assert.ok(participantAcc.length > 0 && participantAcc.every((r) => Number.isNaN(r.value)), "no local test split: per-participant accuracy is NaN");
  for (const r of result.results.filter((x) => x.participant !== "central")) {
    assert.ok(Number.isNaN(r.globalBest) && Number.isNaN(r.personalBest), `${r.participant}: nothing can be selected by validation`);
  }
});

test("the central test set: a row per round in the history, equal to evaluating the saved global model; in summary.csv, the table and the report", async () => {
  const rows = result.history.objects() as Array<{ round: number; participant: string; metric: string; value: number }>;
  const central = rows.filter((r) => r.metric === "centralAccuracy");
  assert.deepEqual(central.map((r) => r.round), [0, 1, 2]);
  const model = await loadModel(path.join(result.outDir, "models", "global"));
  const trainer = new Trainer(model);
  const test = loadDataset("digits", { split: "test", limit: 200 });
  const e = trainer.evaluate(getWeights(model), test);
  trainer.dispose();
  assert.equal(central[2].value, e.accuracy, "the last round's central accuracy is the saved global model's accuracy on the first 200 test images");
  const row = result.results.find((r) => r.participant === "central");
  assert.ok(row);
  assert.equal(row.globalLast, e.accuracy);
  assert.ok(Number.isNaN(row.globalBest), "no validation loss: nothing selected");
  const csv = fs.readFileSync(path.join(result.outDir, "summary.csv"), "utf8").trim().split("\n");
  assert.match(csv[csv.length - 1], /^central,/);
  assert.match(result.resultsText, new RegExp(`\\ncentral +– +– +${(100 * e.accuracy).toFixed(1)}%`));
  const html = fs.readFileSync(path.join(result.outDir, "report.html"), "utf8");
  assert.ok(html.includes("global model, central test set"), "the report's accuracy chart has the central line");
  assert.ok(html.includes(`<th scope="row">central</th>`), "the report's results table has the central row");
});

test("a central set the model cannot take is an error naming the field", async () => {
  // Images are resized to the participants' size (MNIST at 8×8 is fine); a table cannot be.
  const bad = parseExperimentConfig({ ...config, name: "knobs-bad", evaluation: { central: { dataset: "breast-cancer", size: 10 } } });
  await assert.rejects(runExperiment(bad, { outDir: path.join(dir, "bad") }), /evaluation\.central\.dataset "breast-cancer" has samples of shape 30, the participants' are 8×8×1/);
  assert.equal(fs.existsSync(path.join(dir, "bad")), false, "nothing is left behind");
});

test('evaluation.models "used" with FedPer: no global figures (– in the table), the report still builds; a central set with it is refused', async () => {
  const used = parseExperimentConfig({
    ...config, name: "knobs-used", data: { kind: "partition", dataset: "digits", participants: 3, limit: 300 }, localPhase: { enabled: false },
    evaluation: { models: "used" },
  });
  const r = await runExperiment(used, { outDir: path.join(dir, "used") });
  const rows = r.history.objects() as Array<{ scope: string; metric: string }>;
  assert.equal(rows.filter((x) => x.scope === "global").length, 0);
  assert.ok(rows.some((x) => x.scope === "personal" && x.metric === "accuracy"));
  const mean = r.results.find((x) => x.participant === "mean");
  assert.ok(mean && Number.isNaN(mean.globalLast) && Number.isFinite(mean.personalLast));
  assert.ok(fs.existsSync(path.join(r.outDir, "report.html")));
  const withCentral = parseExperimentConfig({ ...used, name: "knobs-used-central", evaluation: { models: "used", central: { dataset: "digits", size: 50 } } });
  await assert.rejects(runExperiment(withCentral, { outDir: path.join(dir, "used-central") }), /evaluation.central scores the global model, which evaluation.models "used" does not evaluate for personalisation "fedper"/);
});
