import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import type { Dataset } from "../../lib/data/dataset";
import { Trainer, type TrainOptions, type TrainResult } from "../../lib/model/trainer";
import { TapeFreeStep, useTapeFreeStep } from "../../lib/model/tapeFreeStep";
import type { TrainableLayers } from "../../lib/model/freeze";
import { Rng } from "../../lib/util/rng";

/** A seeded Sequential model from layer descriptions; the last layer is a softmax head unless `head` says otherwise. */
type LayerSpec =
  | { kind: "dense"; units: number; useBias?: boolean; activation?: "relu" | "linear" | "tanh"; kernelRegularizer?: boolean }
  | { kind: "conv"; filters: number; size: number; strides: number; padding: "valid" | "same"; useBias?: boolean }
  | { kind: "pool"; size: number; strides: number; padding: "valid" | "same" }
  | { kind: "flatten" }
  | { kind: "dropout" };

function buildModel(inputShape: number[], layers: readonly LayerSpec[], classes: number, seed: number,
  head: "softmax" | "linear" = "softmax"): tf.Sequential {
  const model = tf.sequential();
  let first = true;
  const input = () => (first ? ((first = false), { inputShape }) : {});
  layers.forEach((l, i) => {
    const name = `l${i}`;
    const init = tf.initializers.glorotUniform({ seed: seed * 100 + i });
    const biasInit = tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed * 100 + 50 + i });
    if (l.kind === "dense") {
      model.add(tf.layers.dense({ name, units: l.units, activation: l.activation ?? "relu", useBias: l.useBias ?? true,
        kernelInitializer: init, biasInitializer: biasInit, kernelRegularizer: l.kernelRegularizer ? tf.regularizers.l2({ l2: 0.01 }) : undefined,
        ...input() }));
    } else if (l.kind === "conv") {
      model.add(tf.layers.conv2d({ name, filters: l.filters, kernelSize: l.size, strides: l.strides, padding: l.padding, activation: "relu",
        useBias: l.useBias ?? true, kernelInitializer: init, biasInitializer: biasInit, ...input() }));
    } else if (l.kind === "pool") {
      model.add(tf.layers.maxPooling2d({ name, poolSize: l.size, strides: l.strides, padding: l.padding, ...input() }));
    } else if (l.kind === "flatten") {
      model.add(tf.layers.flatten({ name, ...input() }));
    } else {
      model.add(tf.layers.dropout({ name, rate: 0.5, seed, ...input() }));
    }
  });
  model.add(tf.layers.dense({ name: "head", units: classes, activation: head, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 99 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed * 100 + 98 }) }));
  return model;
}

function randomData(n: number, sampleShape: number[], classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const len = sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * len);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = Int32Array.from({ length: n }, () => rng.int(classes));
  return { name: `random-${seed}`, x, y, sampleShape, numClasses: classes, classNames: Array.from({ length: classes }, (_, c) => `c${c}`) };
}

/** Bits of every weight and every number of the result, for exact comparison (NaN payloads and −0 included). */
function bits(r: TrainResult): { weights: number[][]; history: string; metrics: string } {
  const f64 = (v: number) => Array.from(new Uint32Array(new Float64Array([v]).buffer)).join(":");
  return {
    weights: r.weights.map((w) => Array.from(new Uint32Array(w.values.buffer, w.values.byteOffset, w.values.length))),
    history: r.history.map((h) => `${h.epoch}/${f64(h.trainLoss)}/${f64(h.valLoss)}`).join(" "),
    metrics: Object.entries(r.metrics).map(([k, v]) => `${k}=${f64(v)}`).join(" "),
  };
}

/** Trains the same start twice, with and without the tape-free step; asserts both give the same bits and the step planned. */
function assertSameBits(label: string, model: tf.Sequential, data: Dataset, options: TrainOptions, validation?: Dataset): void {
  const trainer = new Trainer(model);
  const start = trainer.getWeights();
  const before = tf.memory().numTensors;
  const was = useTapeFreeStep(true);
  try {
    const planned = tapeFreePlanned(trainer, options);
    assert.ok(planned, `${label}: the tape-free step applies`);
    const free = trainer.train(start, data, validation, options);
    useTapeFreeStep(false);
    const tape = trainer.train(start, data, validation, options);
    const a = bits(free);
    const b = bits(tape);
    assert.ok(free.metrics.steps > 1, `${label}: several steps ran`);
    assert.equal(a.history, b.history, `${label}: losses`);
    assert.equal(a.metrics, b.metrics, `${label}: metrics`);
    assert.equal(a.weights.length, b.weights.length);
    a.weights.forEach((w, i) => assert.deepEqual(w, b.weights[i], `${label}: weight ${free.weights[i].name}`));
    if (free.metrics.bestEpoch > 0) assert.notDeepEqual(a.weights, bits({ ...free, weights: start }).weights, `${label}: training changed the weights`);
    assert.equal(tf.memory().numTensors, before, `${label}: no tensor leaks`);
  } finally {
    useTapeFreeStep(was);
    trainer.dispose();
  }
}

/** Whether `Trainer.train` with `options` takes the tape-free step (its plan is read by wrapping `TapeFreeStep.plan`). */
function tapeFreePlanned(trainer: Trainer, options: TrainOptions): boolean {
  const original = TapeFreeStep.plan;
  let planned: boolean | undefined;
  TapeFreeStep.plan = (setting) => {
    const p = original(setting);
    planned = p !== undefined;
    return p;
  };
  try {
    trainer.train(trainer.getWeights(), randomData(2, trainer.model.inputs[0].shape.slice(1) as number[], trainer.numClasses, 1),
      undefined, { ...options, epochs: 1, maxSteps: 1 });
  } finally {
    TapeFreeStep.plan = original;
  }
  assert.notEqual(planned, undefined, "Trainer.train planned a step");
  return planned === true;
}

const base = { epochs: 2, learningRate: 0.05, seed: 11 } as const;

test("tape-free step: MLPs give the tape's weights and losses bit for bit (batch 1, odd sizes, momentum and plain SGD)", async () => {
  await initBackend({ backend: "wasm", log: false });
  const cases: Array<{ dims: number; layers: LayerSpec[]; classes: number; n: number; batchSize: number; momentum: number }> = [
    { dims: 7, layers: [{ kind: "dense", units: 5 }], classes: 3, n: 9, batchSize: 1, momentum: 0 },
    { dims: 13, layers: [{ kind: "dense", units: 11 }, { kind: "dense", units: 3, useBias: false }], classes: 4, n: 23, batchSize: 5, momentum: 0.9 },
    { dims: 784, layers: [{ kind: "dense", units: 128 }], classes: 10, n: 150, batchSize: 64, momentum: 0.9 },
    { dims: 33, layers: [{ kind: "dense", units: 17 }, { kind: "dense", units: 9 }], classes: 2, n: 300, batchSize: 130, momentum: 0 },
  ];
  cases.forEach((c, i) => {
    const model = buildModel([c.dims], c.layers, c.classes, i + 1);
    assertSameBits(`mlp ${i}`, model, randomData(c.n, [c.dims], c.classes, 40 + i), { ...base, batchSize: c.batchSize, momentum: c.momentum });
  });
});

test("tape-free step: CNNs (valid and same padding, strides 1 and 2, no bias) give the tape's bits", async () => {
  await initBackend({ backend: "wasm", log: false });
  const cnn: LayerSpec[] = [
    { kind: "conv", filters: 4, size: 3, strides: 1, padding: "valid" },
    { kind: "pool", size: 2, strides: 2, padding: "valid" },
    { kind: "conv", filters: 5, size: 3, strides: 2, padding: "same", useBias: false },
    { kind: "pool", size: 2, strides: 1, padding: "same" },
    { kind: "flatten" },
    { kind: "dense", units: 7 },
  ];
  assertSameBits("cnn batch 1", buildModel([11, 11, 2], cnn, 3, 5), randomData(5, [11, 11, 2], 3, 50), { ...base, batchSize: 1, momentum: 0 });
  assertSameBits("cnn batch 7", buildModel([11, 11, 2], cnn, 3, 6), randomData(17, [11, 11, 2], 3, 51), { ...base, batchSize: 7, momentum: 0.9 });
  const issueLike: LayerSpec[] = [
    { kind: "conv", filters: 8, size: 5, strides: 1, padding: "valid" }, { kind: "pool", size: 2, strides: 2, padding: "valid" },
    { kind: "conv", filters: 16, size: 5, strides: 1, padding: "valid" }, { kind: "pool", size: 2, strides: 2, padding: "valid" },
    { kind: "flatten" }, { kind: "dense", units: 32 },
  ];
  assertSameBits("issue-like cnn batch 10", buildModel([28, 28, 1], issueLike, 10, 7), randomData(30, [28, 28, 1], 10, 52),
    { ...base, epochs: 1, batchSize: 10, learningRate: 0.005, momentum: 0 });
});

test("tape-free step: frozen layers (a frozen body with and without the feature cache, a frozen middle layer) give the tape's bits", async () => {
  await initBackend({ backend: "wasm", log: false });
  const layers: LayerSpec[] = [{ kind: "dense", units: 9 }, { kind: "dense", units: 6 }, { kind: "dense", units: 5 }];
  const data = randomData(31, [8], 4, 60);
  const frozen: Array<[string, TrainableLayers, boolean]> = [
    ["head only, cached", { lastLayers: 1 }, true],
    ["last two, not cached", { lastLayers: 2 }, false],
    ["middle frozen", { layers: ["l0", "l2", "head"] }, true],
    ["first only", { layers: ["l0"] }, true],
  ];
  frozen.forEach(([label, trainable, cache], i) => {
    assertSameBits(label, buildModel([8], layers, 4, 20 + i), data,
      { ...base, batchSize: 6, momentum: i % 2 === 0 ? 0.9 : 0, trainable, cacheFrozenFeatures: cache });
  });
  const cnn: LayerSpec[] = [{ kind: "conv", filters: 3, size: 3, strides: 1, padding: "valid" }, { kind: "pool", size: 2, strides: 2, padding: "valid" },
    { kind: "flatten" }, { kind: "dense", units: 6 }];
  assertSameBits("cnn, conv frozen, not cached", buildModel([9, 9, 1], cnn, 3, 30), randomData(13, [9, 9, 1], 3, 61),
    { ...base, batchSize: 4, momentum: 0.9, trainable: { lastLayers: 2 }, cacheFrozenFeatures: false });
});

test("tape-free step: a proximal term (FedProx μ, Ditto λ) gives the tape's bits, frozen layers and μ = 0 included", async () => {
  await initBackend({ backend: "wasm", log: false });
  const layers: LayerSpec[] = [{ kind: "dense", units: 9 }, { kind: "dense", units: 6, useBias: false }];
  const data = randomData(29, [8], 4, 80);
  const cases: Array<[string, number, number, TrainableLayers]> = [
    ["μ 0.1, momentum", 0.1, 0.9, "all"],
    ["μ 2.5, plain SGD", 2.5, 0, "all"],
    ["μ 0.01, body frozen", 0.01, 0.9, { lastLayers: 1 }],
    ["μ 0.7, middle frozen", 0.7, 0, { layers: ["l0", "head"] }],
    ["μ 0", 0, 0.9, "all"],
  ];
  cases.forEach(([label, mu, momentum, trainable], i) => {
    const model = buildModel([8], layers, 4, 90 + i);
    // The reference: the start moved by a seeded offset, so that θ − θ_ref is not 0 from the first step.
    const rng = new Rng(200 + i);
    const reference = new Trainer(model).getWeights().map((w) => ({ ...w, values: w.values.map((v) => v + 0.3 * rng.normal()) }));
    assertSameBits(label, model, data, { ...base, batchSize: 5, momentum, trainable, proximal: { mu, reference } });
  });
  const cnn: LayerSpec[] = [{ kind: "conv", filters: 3, size: 3, strides: 1, padding: "valid" }, { kind: "pool", size: 2, strides: 2, padding: "valid" },
    { kind: "flatten" }, { kind: "dense", units: 6 }];
  const model = buildModel([9, 9, 1], cnn, 3, 99);
  const reference = new Trainer(model).getWeights().map((w) => ({ ...w, values: w.values.map((v) => v * 0.5) }));
  assertSameBits("cnn, μ 0.2", model, randomData(13, [9, 9, 1], 3, 81), { ...base, batchSize: 4, momentum: 0.9, proximal: { mu: 0.2, reference } });
});

test("tape-free step: early stopping with a validation split gives the tape's bits", async () => {
  await initBackend({ backend: "wasm", log: false });
  assertSameBits("early stopping", buildModel([6], [{ kind: "dense", units: 5 }], 3, 40), randomData(40, [6], 3, 70),
    { ...base, epochs: 6, batchSize: 8, momentum: 0.5, earlyStopping: { patience: 2 } }, randomData(12, [6], 3, 70));
});

test("tape-free step: the tape runs what the step does not replay (logits, dropout, regulariser, tanh, hooks, other backends)", async () => {
  await initBackend({ backend: "wasm", log: false });
  const options: TrainOptions = { ...base, batchSize: 4, momentum: 0 };
  const planned = (model: tf.Sequential, extra: Partial<TrainOptions> = {}) => {
    const trainer = new Trainer(model);
    try {
      return tapeFreePlanned(trainer, { ...options, ...extra });
    } finally {
      trainer.dispose();
    }
  };
  const mlp = () => buildModel([5], [{ kind: "dense", units: 4 }], 3, 1);
  assert.equal(planned(mlp()), true, "a plain MLP is replayed");
  const m = mlp();
  const reference = new Trainer(m).getWeights();
  assert.equal(planned(buildModel([5], [{ kind: "dense", units: 4 }], 3, 1, "linear")), false, "logits");
  assert.equal(planned(buildModel([5], [{ kind: "dense", units: 4 }, { kind: "dropout" }], 3, 1)), false, "dropout");
  // In a cached frozen prefix a dropout layer runs once, in inference mode, outside the step.
  assert.equal(planned(buildModel([5], [{ kind: "dropout" }, { kind: "dense", units: 4 }], 3, 1)), true, "dropout before the first trainable layer");
  assert.equal(planned(buildModel([5], [{ kind: "dense", units: 4, kernelRegularizer: true }], 3, 1)), false, "regulariser");
  assert.equal(planned(buildModel([5], [{ kind: "dense", units: 4, activation: "tanh" }], 3, 1)), false, "tanh");
  assert.equal(planned(buildModel([5], [{ kind: "dense", units: 4, activation: "linear" }], 3, 1)), false, "linear hidden layer with bias (fused)");
  const hooked = mlp();
  hooked.layers[0].setCallHook(() => undefined);
  assert.equal(planned(hooked), false, "call hook");
  const was = useTapeFreeStep(false);
  try {
    assert.equal(planned(mlp()), false, "switched off");
  } finally {
    useTapeFreeStep(was);
  }
  await tf.setBackend("cpu");
  try {
    assert.equal(planned(mlp()), false, "cpu backend");
  } finally {
    await tf.setBackend("wasm");
  }
});

test("tape-free step: wrong labels are refused with a message naming them", async () => {
  await initBackend({ backend: "wasm", log: false });
  const trainer = new Trainer(buildModel([3], [{ kind: "dense", units: 2 }], 2, 2));
  try {
    const step = TapeFreeStep.plan({ model: trainer.model, fromLayer: 0, variables: trainer.model.layers.flatMap((l) => l.weights.map((w) => w.read() as tf.Variable)),
      outputs: "probabilities" });
    assert.ok(step);
    const x = tf.zeros([4, 3]);
    const y = tf.zeros([3], "int32");
    const before = tf.memory().numTensors;
    assert.throws(() => step.run(x, y), /labels must be int32 \[4\], got int32 \[3\]/);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  } finally {
    trainer.dispose();
  }
});
