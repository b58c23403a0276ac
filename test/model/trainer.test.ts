import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, getWeights, maxAbsDifference, Trainer, weightsEqual } from "../../lib/model/index";
import { blobParticipant, gaussianBlobs } from "./fixtures";

const base = { epochs: 3, batchSize: 8, learningRate: 0.05, momentum: 0.9, seed: 1 };

test("one full-batch SGD step matches the hand-computed softmax gradient", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [3], hiddenUnits: [], numClasses: 2, seed: 4 });
  const trainer = new Trainer(model);
  const data = gaussianBlobs({ n: 6, dims: 3, numClasses: 2, seed: 9 });
  const w0 = getWeights(model);
  const lr = 0.3;
  const { weights } = trainer.train(w0, data, undefined, { epochs: 1, batchSize: 6, learningRate: lr, momentum: 0.9, seed: 0 });
  // Hand computation: p = softmax(xW + b); dW = Xᵀ(P − Y)/n; db = mean(P − Y).
  const W = w0[0].values;
  const bias = w0[1].values;
  const gW = new Float64Array(6);
  const gb = new Float64Array(2);
  for (let i = 0; i < 6; i++) {
    const z = [0, 1].map((c) => bias[c] + [0, 1, 2].reduce((s, d) => s + data.x[i * 3 + d] * W[d * 2 + c], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const p = e.map((v) => v / (e[0] + e[1]));
    for (let c = 0; c < 2; c++) {
      const r = (p[c] - (data.y[i] === c ? 1 : 0)) / 6;
      gb[c] += r;
      for (let d = 0; d < 3; d++) gW[d * 2 + c] += data.x[i * 3 + d] * r;
    }
  }
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(weights[0].values[k] - (W[k] - lr * gW[k])) < 1e-5, `kernel[${k}]`);
  for (let c = 0; c < 2; c++) assert.ok(Math.abs(weights[1].values[c] - (bias[c] - lr * gb[c])) < 1e-5, `bias[${c}]`);
  trainer.dispose();
});

test("frozen layers (incl. batch-norm statistics) are bitwise unchanged", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [8, 6], numClasses: 3, seed: 2, batchNorm: true });
  const trainer = new Trainer(model);
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 5 });
  const w0 = getWeights(model);
  for (const cache of [true, false]) {
    const r = trainer.train(w0, p.train, p.validation, { ...base, trainable: { lastLayers: 1 }, cacheFrozenFeatures: cache });
    const head = new Set(["head/kernel", "head/bias"]);
    r.weights.forEach((w, i) => {
      if (head.has(w.name)) assert.ok(!weightsEqual([w], [w0[i]]), `${w.name} trained`);
      else assert.ok(weightsEqual([w], [w0[i]]), `${w.name} unchanged (cache=${cache})`);
    });
    assert.equal(r.metrics.usedFeatureCache, cache ? 1 : 0);
  }
  // The flags the call set are restored afterwards.
  assert.ok(model.layers.every((l) => l.trainable));
  trainer.dispose();
});

test("frozen-feature cache gives the same result as the naive path", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [16, 8], numClasses: 3, seed: 3, batchNorm: true });
  const trainer = new Trainer(model);
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 6 });
  const w0 = getWeights(model);
  const opts = { ...base, epochs: 4, trainable: { lastLayers: 2 } as const, earlyStopping: { patience: 2 } };
  const cached = trainer.train(w0, p.train, p.validation, { ...opts, cacheFrozenFeatures: true });
  const naive = trainer.train(w0, p.train, p.validation, { ...opts, cacheFrozenFeatures: false });
  assert.equal(cached.metrics.usedFeatureCache, 1);
  assert.equal(naive.metrics.usedFeatureCache, 0);
  assert.ok(maxAbsDifference(cached.weights, naive.weights) < 1e-5, `diff ${maxAbsDifference(cached.weights, naive.weights)}`);
  assert.ok(Math.abs(cached.metrics.valLoss - naive.metrics.valLoss) < 1e-5);
  trainer.dispose();
});

test("early stopping stops after `patience` bad epochs and restores the best weights", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [32], numClasses: 3, seed: 1 });
  const trainer = new Trainer(model);
  // Tiny, noisy training set: the model overfits quickly and validation loss turns up.
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 8, sizes: [12, 60, 10], spread: 2 });
  const w0 = getWeights(model);
  const r = trainer.train(w0, p.train, p.validation, {
    epochs: 200, batchSize: 4, learningRate: 0.02, momentum: 0.9, seed: 3, earlyStopping: { patience: 3 },
  });
  const vals = r.history.map((h) => h.valLoss);
  const initial = trainer.evaluate(w0, p.validation).loss;
  const best = Math.min(initial, ...vals);
  assert.equal(r.metrics.earlyStopped, 1);
  assert.ok(r.metrics.bestEpoch >= 2, `best epoch ${r.metrics.bestEpoch} is after some training`);
  assert.equal(r.metrics.epochs, r.metrics.bestEpoch + 3);
  assert.equal(r.metrics.valLoss, best);
  assert.ok(Math.abs(trainer.evaluate(r.weights, p.validation).loss - best) < 1e-6, "returned weights have the best loss");
  assert.ok(vals[vals.length - 1] > best, "the last epoch was worse than the best");
  trainer.dispose();
});

test("proximal term with mu = 0 changes nothing; mu > 0 pulls towards the reference", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 1 });
  const trainer = new Trainer(model);
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 2 });
  const w0 = getWeights(model);
  const plain = trainer.train(w0, p.train, undefined, base);
  const mu0 = trainer.train(w0, p.train, undefined, { ...base, proximal: { mu: 0, reference: w0 } });
  const mu1 = trainer.train(w0, p.train, undefined, { ...base, proximal: { mu: 5, reference: w0 } });
  assert.ok(weightsEqual(plain.weights, mu0.weights));
  assert.ok(maxAbsDifference(mu1.weights, w0) < maxAbsDifference(plain.weights, w0));
  trainer.dispose();
});

test("same seed → same weights; maxSteps limits work; no tensor growth over many calls", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 1 });
  const trainer = new Trainer(model);
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 2 });
  const w0 = getWeights(model);
  const a = trainer.train(w0, p.train, p.validation, base);
  const b = trainer.train(w0, p.train, p.validation, base);
  const c = trainer.train(w0, p.train, p.validation, { ...base, seed: 2 });
  assert.ok(weightsEqual(a.weights, b.weights));
  assert.ok(!weightsEqual(a.weights, c.weights));
  const partial = trainer.train(w0, p.train, undefined, { ...base, maxSteps: 4 });
  assert.equal(partial.metrics.steps, 4);
  assert.equal(partial.metrics.samples, 32);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 30; i++) {
    trainer.train(w0, p.train, p.validation, { ...base, seed: i, earlyStopping: { patience: 1 }, trainable: i % 2 ? "all" : { lastLayers: 1 }, proximal: { mu: 0.1, reference: w0 } });
    trainer.evaluate(w0, p.test);
  }
  assert.equal(tf.memory().numTensors, before);
  trainer.dispose();
});

test("bad options and data are named", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 1 });
  const trainer = new Trainer(model);
  const p = blobParticipant({ dims: 4, numClasses: 3, seed: 2 });
  const w0 = getWeights(model);
  assert.throws(() => trainer.train(w0, p.train, undefined, { ...base, momentum: 1 }), /momentum must be in \[0, 1\), got 1/);
  const wrong = gaussianBlobs({ n: 5, dims: 5, numClasses: 3, seed: 1, name: "wide" });
  assert.throws(() => trainer.evaluate(w0, wrong), /dataset "wide" has sampleShape \[5\], model mlp expects \[4\]/);
  assert.throws(() => trainer.train(w0, p.train, undefined, { ...base, trainable: { layers: ["nope"] } }), /trainable layer "nope"/);
  trainer.dispose();
});

test("CNN: frozen-feature cache equals the naive path", async () => {
  await initBackend({ log: false });
  const { buildCnn } = await import("../../lib/model/cnn");
  const { Rng } = await import("../../lib/util/rng");
  const rng = new Rng(4);
  const n = 24;
  const ds = {
    name: "tiny-images",
    x: Float32Array.from({ length: n * 64 }, () => rng.next()),
    y: Int32Array.from({ length: n }, () => rng.int(3)),
    sampleShape: [8, 8, 1],
    numClasses: 3,
    classNames: ["a", "b", "c"],
  };
  const trainer = new Trainer(buildCnn({ inputShape: [8, 8, 1], filters: [2, 4], denseUnits: 8, numClasses: 3, seed: 2 }));
  const w0 = trainer.getWeights();
  const opts = { ...base, trainable: { lastLayers: 2 } as const };
  const cached = trainer.train(w0, ds, ds, opts);
  const naive = trainer.train(w0, ds, ds, { ...opts, cacheFrozenFeatures: false });
  assert.equal(cached.metrics.usedFeatureCache, 1);
  assert.ok(maxAbsDifference(cached.weights, naive.weights) < 1e-5);
  assert.ok(weightsEqual(cached.weights.slice(0, 4), w0.slice(0, 4)), "conv layers untouched");
  trainer.dispose();
});
