import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../lib/data/dataset";
import { Trainer } from "../lib/model/trainer";
import { Rng } from "../lib/util/rng";
import { buildWorkload, Workload, WORKLOADS } from "./trainingThroughput";

/** Best-of-`reps` seconds of fedtune's `Trainer.train` and of raw `model.fit` on the same work. */
export interface TrainerOverhead {
  readonly workload: Workload;
  readonly samples: number;
  readonly fitSeconds: number;
  readonly trainerSeconds: number;
}

/**
 * Bench item 1: the same model (same seed), batch, epoch and learning rate, trained by raw tfjs
 * `model.fit` (shuffle off, tf.train.momentum) and by fedtune's `Trainer.train` (seeded shuffle,
 * own SGD+momentum, loss read back per batch, weights in and out as plain arrays). Both sides start
 * from plain Float32Arrays, so both pay for making tensors. Runs alternate, and each side keeps
 * its fastest run: on a shared machine the minimum is the figure least disturbed by neighbours.
 */
export async function trainerOverhead(workload: Workload, batches: number, reps: number, seed = 8): Promise<TrainerOverhead> {
  const { batch } = WORKLOADS[workload];
  const fitSide = buildWorkload(workload, seed);
  const trainerSide = buildWorkload(workload, seed);
  const { sampleShape } = fitSide;
  const n = batches * batch;
  const rng = new Rng(seed);
  const x = new Float32Array(n * sampleShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  const data: Dataset = { name: "bench", x, y, sampleShape, numClasses: 10, classNames: Array.from({ length: 10 }, (_, c) => String(c)) };
  const optimizer = tf.train.momentum(0.01, 0.9);
  fitSide.model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const trainer = new Trainer(trainerSide.model);
  const start = trainer.getWeights();
  const runFit = async (): Promise<number> => {
    const t0 = performance.now();
    const xs = tf.tensor(x, [n, ...sampleShape]);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, "int32"), 10));
    await fitSide.model.fit(xs, ys, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    return (performance.now() - t0) / 1000;
  };
  const runTrainer = (): number => {
    const t0 = performance.now();
    trainer.train(start, data, undefined, { epochs: 1, batchSize: batch, learningRate: 0.01, momentum: 0.9, seed, cacheFrozenFeatures: false });
    return (performance.now() - t0) / 1000;
  };
  try {
    await runFit(); // warm-up: kernel setup, first-call costs
    runTrainer();
    let fitSeconds = Infinity;
    let trainerSeconds = Infinity;
    for (let r = 0; r < reps; r++) {
      fitSeconds = Math.min(fitSeconds, await runFit());
      trainerSeconds = Math.min(trainerSeconds, runTrainer());
    }
    return { workload, samples: n, fitSeconds, trainerSeconds };
  } finally {
    trainer.dispose();
    fitSide.model.dispose();
    optimizer.dispose();
  }
}
