import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, FULL_BATCH, maxAbsDifference, samplesPerEpoch, setWeights, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import type { Dataset } from "../../lib/data/dataset";
import { FedAvg, fedSgdFitConfig, Participant, runFederation } from "../../lib/federation/index";
import { blobParticipant, gaussianBlobs } from "./fixtures";

/** θ − lr·∇L(θ) on the whole of `data`, with the gradient taken by tfjs directly (no Trainer). */
function oneGradientStep(model: tf.LayersModel, start: ModelWeights, data: Dataset, lr: number): ModelWeights {
  setWeights(model, start);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const x = tf.tensor(data.x, [data.y.length, ...data.sampleShape]);
    const y = tf.oneHot(tf.tensor1d(data.y, "int32"), data.numClasses);
    const p = model.apply(x, { training: true }) as tf.Tensor; // the MLP's head is a softmax
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(p)), -1))) as tf.Scalar;
  }, vars);
  const byVar = new Map(model.trainableWeights.map((v, i) => [v.originalName, grads[vars[i].name].dataSync()]));
  tf.dispose(Object.values(grads));
  return start.map((w) => {
    const g = byVar.get(w.name);
    return g ? { ...w, values: Float32Array.from(w.values, (v, k) => v - lr * g[k]) } : w;
  });
}

test("FedSGD: one round moves the global model by lr × the example-weighted full-batch gradient", async () => {
  await initBackend({ log: false });
  const model = buildMlp({ inputShape: [5], hiddenUnits: [7], numClasses: 3, seed: 2 });
  const trainer = new Trainer(model);
  const data = [0, 1, 2].map((i) => blobParticipant({ dims: 5, numClasses: 3, seed: 20 + i, sizes: [17 + 9 * i, 6, 6] }));
  const w0 = trainer.getWeights();
  const lr = 0.4;
  const config = fedSgdFitConfig(lr);
  assert.deepEqual(config, { epochs: 1, batchSize: FULL_BATCH, learningRate: lr, momentum: 0, proximalMu: 0 });
  const before = tf.memory().numTensors;
  const result = await runFederation({
    participants: data.map((d, i) => new Participant({ id: `p${i}`, data: d, trainer })),
    strategy: new FedAvg(),
    rounds: 1,
    trainer,
    initialWeights: w0,
    fitConfig: config,
    seed: 3,
  });
  assert.equal(tf.memory().numTensors, before, "no tensor leak");
  // Each participant took exactly one step over its whole training split.
  for (const [i, d] of data.entries()) {
    const rows = result.rows.filter((r) => r.participant === `p${i}` && r.scope === "fit" && r.round === 1);
    assert.equal(rows.find((r) => r.metric === "steps")?.value, 1);
    assert.equal(rows.find((r) => r.metric === "samples")?.value, d.train.y.length);
  }
  // Expected: Σ nᵢ/n · (θ − lr·gᵢ), each gᵢ computed by tfjs on participant i's whole train split.
  const probe = buildMlp({ inputShape: [5], hiddenUnits: [7], numClasses: 3, seed: 2 });
  const steps = data.map((d) => oneGradientStep(probe, w0, d.train, lr));
  const total = data.reduce((s, d) => s + d.train.y.length, 0);
  const expected = w0.map((w, j) => ({
    ...w,
    values: Float32Array.from(w.values, (_, k) => steps.reduce((s, st, i) => s + (data[i].train.y.length / total) * st[j].values[k], 0)),
  }));
  const diff = maxAbsDifference(result.globalWeights, expected);
  assert.ok(diff < 1e-5, `FedSGD round differs from the hand-averaged gradient step by ${diff}`);
  assert.ok(maxAbsDifference(result.globalWeights, w0) > 1e-3, "the model moved");
  probe.dispose();
  trainer.dispose();
});

test('batch "full" trains on the whole split: one step per epoch, every sample used', async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 1 }));
  const data = gaussianBlobs({ n: 37, dims: 4, numClasses: 3, seed: 5 });
  const w0 = trainer.getWeights();
  const opts = { epochs: 3, learningRate: 0.1, momentum: 0, seed: 4 };
  const full = trainer.train(w0, data, undefined, { ...opts, batchSize: FULL_BATCH });
  assert.equal(full.metrics.steps, 3);
  assert.equal(full.metrics.samples, 3 * 37);
  // Same as naming the split's size (and a batch larger than the split).
  const named = trainer.train(w0, data, undefined, { ...opts, batchSize: 37 });
  const larger = trainer.train(w0, data, undefined, { ...opts, batchSize: 1000 });
  assert.ok(weightsEqual(full.weights, named.weights));
  assert.ok(weightsEqual(full.weights, larger.weights));
  trainer.dispose();
});

test("drop-last-partial-batch drops exactly the remainder of each epoch", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 1 }));
  const data = gaussianBlobs({ n: 23, dims: 4, numClasses: 3, seed: 5 });
  const w0 = trainer.getWeights();
  const opts = { batchSize: 5, learningRate: 0.1, momentum: 0.9, seed: 4 };
  assert.equal(samplesPerEpoch(23, 5, true), 20);
  assert.equal(samplesPerEpoch(23, 5, false), 23);
  assert.equal(samplesPerEpoch(20, 5, true), 20);
  assert.equal(samplesPerEpoch(3, 5, true), 3, "a split smaller than one batch is one full batch");
  const dropped = trainer.train(w0, data, undefined, { ...opts, epochs: 2, dropLastPartialBatch: true });
  const kept = trainer.train(w0, data, undefined, { ...opts, epochs: 2 });
  assert.deepEqual([dropped.metrics.steps, dropped.metrics.samples], [8, 40]);
  assert.deepEqual([kept.metrics.steps, kept.metrics.samples], [10, 46]);
  // Epoch 1 with the last batch dropped = the first four batches of the same seeded permutation.
  const drop1 = trainer.train(w0, data, undefined, { ...opts, epochs: 1, dropLastPartialBatch: true });
  const first4 = trainer.train(w0, data, undefined, { ...opts, epochs: 1, maxSteps: 4 });
  assert.ok(weightsEqual(drop1.weights, first4.weights));
  assert.ok(!weightsEqual(drop1.weights, kept.weights));
  // Nothing to drop when the batch divides the split: identical to the default.
  const even = gaussianBlobs({ n: 20, dims: 4, numClasses: 3, seed: 6 });
  assert.ok(weightsEqual(
    trainer.train(w0, even, undefined, { ...opts, epochs: 2, dropLastPartialBatch: true }).weights,
    trainer.train(w0, even, undefined, { ...opts, epochs: 2 }).weights,
  ));
  trainer.dispose();
});

test("fedSgdFitConfig names a bad learning rate", () => {
  assert.throws(() => fedSgdFitConfig(0), /fedSgdFitConfig: learningRate must be a finite number > 0, got 0/);
  assert.throws(() => fedSgdFitConfig(Number.NaN), /got NaN/);
});

