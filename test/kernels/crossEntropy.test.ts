import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/kernels/index";
import { CROSS_ENTROPY } from "../../lib/kernels/crossEntropy";
import { crossEntropyPerSample } from "../../lib/model/loss";
import { buildMlp } from "../../lib/model/mlp";
import { Trainer } from "../../lib/model/trainer";
import { Rng } from "../../lib/util/rng";
import { withoutKernel } from "./withoutKernel";

const composed = <T>(body: () => T): T => withoutKernel(CROSS_ENTROPY, body);

const bits = (t: tf.Tensor) => {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
};

/** Loss and dL/dp (for per-sample weights `dy`) of probabilities `p` [n, classes] and `labels`, as bit patterns. */
function lossAndGrad(p: Float32Array, n: number, classes: number, labels: Int32Array, dy: Float32Array): { loss: number[]; grad: number[] } {
  return tf.tidy(() => {
    const pt = tf.tensor2d(p, [n, classes]);
    const yt = tf.tensor1d(labels, "int32");
    const dyt = tf.tensor1d(dy);
    const loss = crossEntropyPerSample(pt, yt, classes, "probabilities");
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(crossEntropyPerSample(x, yt, classes, "probabilities"), dyt)))(pt);
    return { loss: bits(loss), grad: bits(grad) };
  });
}

test("fused cross-entropy on wasm: the loss and its gradient equal the tfjs composition bit for bit (random shapes, batch 1, odd sizes, edge values)", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(4242);
  const shapes: Array<[number, number]> = [[64, 10], [1, 10], [1, 2], [10, 10], [7, 3], [33, 17], [2, 1000]];
  for (let i = 0; i < 20; i++) shapes.push([1 + rng.int(70), 2 + rng.int(40)]);
  // The fused path really runs (one kernel), and the reference really is the composition.
  const kernelsOf = async (f: () => void) => (await tf.profile(f)).kernels.map((k) => k.name);
  const probe = () => tf.tidy(() => void crossEntropyPerSample(tf.softmax(tf.ones([2, 3])), tf.tensor1d([0, 2], "int32"), 3, "probabilities").dataSync());
  assert.ok((await kernelsOf(probe)).includes(CROSS_ENTROPY));
  const config = tf.getKernel(CROSS_ENTROPY, "wasm")!;
  tf.unregisterKernel(CROSS_ENTROPY, "wasm");
  const composedKernels = await kernelsOf(probe);
  tf.registerKernel(config);
  assert.ok(!composedKernels.includes(CROSS_ENTROPY) && composedKernels.includes("Log"));
  const tensors = tf.memory().numTensors;
  for (const [n, classes] of shapes) {
    // Softmax outputs (as a head emits), with some entries pushed to the clip's edges and beyond.
    const logits = Float32Array.from({ length: n * classes }, () => rng.normal() * 10 ** (rng.int(3) - 1));
    const p = tf.tidy(() => tf.softmax(tf.tensor2d(logits, [n, classes])).dataSync() as Float32Array).slice();
    const specials = [0, 1, 1e-7, Math.fround(1e-7), Math.fround(1 - 1e-7), 1e-30, 1e-45, 1.5, -0, -0.25];
    for (let k = 0; k < p.length; k++) if (rng.int(6) === 0) p[k] = specials[rng.int(specials.length)];
    // Labels in range, and a few out of it (a zero one-hot row, as tf.oneHot gives).
    const labels = Int32Array.from({ length: n }, () => (rng.int(12) === 0 ? [classes, -1][rng.int(2)] : rng.int(classes)));
    const dy = Float32Array.from({ length: n }, () => (rng.int(5) === 0 ? 1 / n : rng.normal()));
    const fused = lossAndGrad(p, n, classes, labels, dy);
    const reference = composed(() => lossAndGrad(p, n, classes, labels, dy));
    assert.deepEqual(fused.loss, reference.loss, `loss [${n}, ${classes}]`);
    assert.deepEqual(fused.grad, reference.grad, `gradient [${n}, ${classes}]`);
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
});

test("fused cross-entropy: a training run of the MLP gives the same weights and losses bit for bit as with the composition", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(77);
  const n = 150;
  const x = Float32Array.from({ length: n * 20 }, () => rng.normal());
  const y = Int32Array.from({ length: n }, () => rng.int(5));
  const data = { name: "ce", x, y, sampleShape: [20], numClasses: 5, classNames: ["a", "b", "c", "d", "e"] };
  const run = () => {
    const trainer = new Trainer(buildMlp({ inputShape: [20], hiddenUnits: [16], numClasses: 5, seed: 3 }));
    try {
      const out = trainer.train(trainer.getWeights(), data, data, { epochs: 3, batchSize: 32, learningRate: 0.1, momentum: 0.9, seed: 5 });
      const evaluation = trainer.evaluate(out.weights, data);
      return { weights: out.weights.map((w) => Array.from(new Uint32Array(w.values.buffer))), history: out.history, evaluation };
    } finally {
      trainer.dispose();
    }
  };
  const tensors = tf.memory().numTensors;
  const fused = run();
  const reference = composed(run);
  assert.deepEqual(fused, reference);
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
});

test("fused cross-entropy: wrong shapes and dtypes are refused by name", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  tf.tidy(() => {
    assert.throws(() => tf.engine().runKernel(CROSS_ENTROPY, { probabilities: tf.ones([3, 4]), labels: tf.tensor1d([0, 1], "int32") }, { epsilon: 1e-7 }),
      /FedtuneCrossEntropyProbabilities: labels must be int32 \[3\]/);
    assert.throws(() => tf.engine().runKernel(CROSS_ENTROPY, { probabilities: tf.ones([3]), labels: tf.tensor1d([0, 1, 2], "int32") }, { epsilon: 1e-7 }),
      /probabilities must be float32 \[n, classes\]/);
  });
});
