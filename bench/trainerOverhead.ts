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
  /** Best-of-`reps` process CPU seconds of each (single-threaded work: on a quiet machine the wall time; on a shared one, not inflated by neighbours). */
  readonly fitCpuSeconds: number;
  readonly trainerCpuSeconds: number;
}

/** Wall and process CPU seconds of one run. */
interface Timed {
  readonly wall: number;
  readonly cpu: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
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
  const runFit = async (): Promise<Timed> => {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    const xs = tf.tensor(x, [n, ...sampleShape]);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, "int32"), 10));
    await fitSide.model.fit(xs, ys, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
  };
  const runTrainer = (): Timed => {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    trainer.train(start, data, undefined, { epochs: 1, batchSize: batch, learningRate: 0.01, momentum: 0.9, seed, cacheFrozenFeatures: false });
    return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
  };
  try {
    await runFit(); // warm-up: kernel setup, first-call costs
    runTrainer();
    let fitSeconds = Infinity;
    let trainerSeconds = Infinity;
    let fitCpuSeconds = Infinity;
    let trainerCpuSeconds = Infinity;
    for (let r = 0; r < reps; r++) {
      const f = await runFit();
      const t = runTrainer();
      fitSeconds = Math.min(fitSeconds, f.wall);
      trainerSeconds = Math.min(trainerSeconds, t.wall);
      fitCpuSeconds = Math.min(fitCpuSeconds, f.cpu);
      trainerCpuSeconds = Math.min(trainerCpuSeconds, t.cpu);
    }
    return { workload, samples: n, fitSeconds, trainerSeconds, fitCpuSeconds, trainerCpuSeconds };
  } finally {
    trainer.dispose();
    fitSide.model.dispose();
    optimizer.dispose();
  }
}
