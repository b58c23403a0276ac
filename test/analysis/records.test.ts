import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import { PRETRAINED_CNN_DIR } from "../../lib/scenario/documentScenario";
import { epochCurves } from "../../lib/analysis/index";
import { readPretrainingInfo } from "../../lib/model/index";
import { blobParticipant } from "../model/fixtures";

const h1 = [{ epoch: 1, trainLoss: 1.5, valLoss: 1.2 }, { epoch: 2, trainLoss: 1.0, valLoss: 1.1 }];
const h2 = [{ epoch: 1, trainLoss: 2.0, valLoss: NaN }];

test("epochCurves: one run or one per participant, wide or long", () => {
  const one = epochCurves(h1);
  assert.deepEqual(one.columnNames(), ["epoch", "trainLoss", "valLoss"]);
  assert.deepEqual(one.objects(), h1);
  const many = epochCurves({ a: h1, b: h2 }, { layout: "long" });
  assert.deepEqual(many.columnNames(), ["participant", "epoch", "split", "loss"]);
  assert.deepEqual((many.objects() as Array<Record<string, unknown>>).map((r) => [r.participant, r.epoch, r.split, r.loss]), [
    ["a", 1, "train", 1.5], ["a", 1, "validation", 1.2], ["a", 2, "train", 1.0], ["a", 2, "validation", 1.1],
    ["b", 1, "train", 2.0], ["b", 1, "validation", NaN],
  ]);
  assert.deepEqual(epochCurves(new Map([["b", h2], ["a", h1]])).array("participant"), ["b", "a", "a"]);
  assert.deepEqual(epochCurves([], { layout: "long" }).columnNames(), ["epoch", "split", "loss"]);
  assert.throws(() => epochCurves(h1, { layout: "tall" as "wide" }), /layout must be "wide" or "long", got tall/);
});

test("epochCurves of a real Trainer run has one row per epoch trained", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [5], numClasses: 3, seed: 1 }));
  const data = blobParticipant({ dims: 4, numClasses: 3, seed: 2 });
  const r = trainer.train(trainer.getWeights(), data.train, data.validation, { epochs: 3, batchSize: 8, learningRate: 0.05, momentum: 0.9, seed: 1 });
  const t = epochCurves({ p: r.history });
  assert.deepEqual(t.array("epoch"), [1, 2, 3]);
  assert.deepEqual(t.array("valLoss"), r.history.map((e) => e.valLoss));
  trainer.dispose();
});

test("readPretrainingInfo reads the committed checkpoint's record", () => {
  const info = readPretrainingInfo(PRETRAINED_CNN_DIR);
  const raw = JSON.parse(fs.readFileSync(path.join(PRETRAINED_CNN_DIR, "pretraining.json"), "utf8"));
  assert.equal(info.validation.accuracy, raw.validation.accuracy);
  assert.deepEqual(info.data.classes, Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i))); // the shipped body saw the 26 letters
  assert.deepEqual([info.saw, info.data.dataset, info.data.validationNote], [raw.saw, raw.data.dataset, raw.data.validationNote]);
  assert.deepEqual(info.history, raw.history);
  assert.equal(epochCurves(info.history).numRows(), raw.history.length);
});

test("readPretrainingInfo names the file and the field that is wrong", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-pretraining-"));
  const file = path.join(dir, "pretraining.json");
  try {
    assert.throws(() => readPretrainingInfo(dir), new RegExp(`cannot read ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    assert.equal(readPretrainingInfo(dir, { optional: true }), undefined, "a folder without the record (a model the user saved) is not an error when optional");
    fs.writeFileSync(file, "{ not json");
    assert.throws(() => readPretrainingInfo(dir), /pretraining.json is not valid JSON/);
    assert.throws(() => readPretrainingInfo(dir, { optional: true }), /pretraining.json is not valid JSON/, "optional covers a missing file only");
    const good = JSON.parse(fs.readFileSync(path.join(PRETRAINED_CNN_DIR, "pretraining.json"), "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...good, history: [{ epoch: 1, trainLoss: "low", valLoss: 1 }] }));
    assert.throws(() => readPretrainingInfo(dir), /pretraining.json: field "history\[0\].trainLoss" must be a number, got "low"/);
    fs.writeFileSync(file, JSON.stringify({ ...good, saw: 3 }));
    assert.throws(() => readPretrainingInfo(dir), /field "saw" must be a string, got 3/);
    fs.writeFileSync(file, JSON.stringify({ ...good, saw: undefined }));
    assert.equal(readPretrainingInfo(dir).saw, good.description, "records written before \"saw\" existed read, saying their description");
    fs.writeFileSync(file, JSON.stringify({ ...good, validation: undefined }));
    assert.throws(() => readPretrainingInfo(dir), /field "validation" must be an object, got undefined/);
    // NaN is written as null by JSON.stringify: read back as NaN.
    fs.writeFileSync(file, JSON.stringify({ ...good, history: [{ epoch: 1, trainLoss: 1, valLoss: NaN }] }));
    assert.ok(Number.isNaN(readPretrainingInfo(dir).history[0].valLoss));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
