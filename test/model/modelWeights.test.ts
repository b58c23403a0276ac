import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import {
  batchNormMask,
  buildCnn,
  buildMlp,
  freezeAllBut,
  getWeights,
  headMask,
  loadModel,
  replaceHead,
  saveModel,
  setWeights,
  trainableLayerNames,
  weightsEqual,
} from "../../lib/model/index";

test("builders are deterministic per seed and differ across seeds", async () => {
  await initBackend({ log: false });
  const m1 = buildMlp({ inputShape: [5], hiddenUnits: [8, 4], numClasses: 3, seed: 7 });
  const m2 = buildMlp({ inputShape: [5], hiddenUnits: [8, 4], numClasses: 3, seed: 7 });
  const m3 = buildMlp({ inputShape: [5], hiddenUnits: [8, 4], numClasses: 3, seed: 8 });
  const w1 = getWeights(m1);
  assert.deepEqual(
    w1.map((w) => w.name),
    ["hidden_1/kernel", "hidden_1/bias", "hidden_2/kernel", "hidden_2/bias", "head/kernel", "head/bias"],
  );
  assert.ok(weightsEqual(w1, getWeights(m2)));
  assert.ok(!weightsEqual(w1, getWeights(m3)));
  for (const m of [m1, m2, m3]) m.dispose();
});

test("CNN has the conv32-pool-conv64-pool-128-10 shape", async () => {
  await initBackend({ log: false });
  const m = buildCnn({ numClasses: 10, seed: 1 });
  const shapes = getWeights(m).map((w) => `${w.name}:${w.shape.join("x")}`);
  assert.deepEqual(shapes, [
    "conv_1/kernel:3x3x1x32",
    "conv_1/bias:32",
    "conv_2/kernel:3x3x32x64",
    "conv_2/bias:64",
    "dense_1/kernel:3136x128",
    "dense_1/bias:128",
    "head/kernel:128x10",
    "head/bias:10",
  ]);
  m.dispose();
});

test("weight order is stable under freezing and set/get round-trips", async () => {
  await initBackend({ log: false });
  const m = buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 2, batchNorm: true });
  const before = getWeights(m).map((w) => w.name);
  assert.deepEqual(freezeAllBut(m, 1), ["head"]);
  assert.deepEqual(trainableLayerNames(m), ["head"]);
  assert.deepEqual(getWeights(m).map((w) => w.name), before);
  assert.deepEqual(headMask(m, 1), [false, false, false, false, false, false, true, true]);
  assert.deepEqual(batchNormMask(m), [false, false, true, true, true, true, false, false]);
  const w = getWeights(m).map((t) => ({ ...t, values: t.values.map((v, i) => v + i) }));
  setWeights(m, w);
  assert.ok(weightsEqual(getWeights(m), w));
  m.dispose();
});

test("setWeights names the mismatching variable", async () => {
  await initBackend({ log: false });
  const m = buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 2 });
  const w = getWeights(m);
  const wrong = w.map((t) => (t.name === "head/bias" ? { name: t.name, shape: [4], values: new Float32Array(4) } : t));
  assert.throws(() => setWeights(m, wrong), /variable "head\/bias" has shape \[3\], got \[4\]/);
  assert.throws(() => setWeights(m, w.slice(1)), /model has 4 weight tensors, got 3/);
  m.dispose();
});

test("replaceHead keeps the body and frozen flags, gives a fresh seeded head", async () => {
  await initBackend({ log: false });
  const m = buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 2 });
  freezeAllBut(m, 1);
  const r1 = await replaceHead(m, 5, 11);
  const r2 = await replaceHead(m, 5, 11);
  const w = getWeights(r1);
  assert.deepEqual(w.map((t) => t.shape), [[4, 6], [6], [6, 5], [5]]);
  assert.ok(weightsEqual(w.slice(0, 2), getWeights(m).slice(0, 2)));
  assert.ok(weightsEqual(w, getWeights(r2)), "same seed → same head");
  assert.deepEqual(Array.from(w[3].values), [0, 0, 0, 0, 0]);
  assert.deepEqual(trainableLayerNames(r1), ["head"]);
  for (const x of [m, r1, r2]) x.dispose();
});

test("saveModel/loadModel round-trips topology, weights and frozen flags", async () => {
  await initBackend({ log: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-model-"));
  const m = buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 3 });
  freezeAllBut(m, 1);
  const { modelPath, weightsPath } = await saveModel(m, dir);
  assert.ok(fs.existsSync(modelPath));
  assert.equal(fs.statSync(weightsPath).size, (4 * 6 + 6 + 6 * 3 + 3) * 4);
  const back = await loadModel(dir);
  assert.ok(weightsEqual(getWeights(back), getWeights(m)));
  assert.deepEqual(trainableLayerNames(back), ["head"]);
  const x = tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]);
  const p1 = (m.predict(x) as tf.Tensor).dataSync();
  const p2 = (back.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(p2), Array.from(p1));
  await assert.rejects(loadModel(path.join(dir, "missing")), /no model.json in/);
  m.dispose();
  back.dispose();
  x.dispose();
  fs.rmSync(dir, { recursive: true });
});
