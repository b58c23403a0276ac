import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/util/rng";
import { buildCnn } from "../lib/model/cnn";
import { buildMlp } from "../lib/model/mlp";
import { freezeAllBut } from "../lib/model/freeze";

/** The workloads of bench item 2/3: the models fedtune ships, at the batch sizes the issue names. */
export type Workload = "mlp" | "cnn" | "head" | "head-cached";

/** Batch size and model description of each workload. */
export const WORKLOADS: Record<Workload, { batch: number; description: string }> = {
  mlp: { batch: 64, description: "MLP 784-128-10" },
  cnn: { batch: 32, description: "CNN conv32-pool-conv64-pool-128-10 (28×28×1)" },
  head: { batch: 64, description: "head-only: CNN convs frozen, dense128+head trained (body runs every batch)" },
  "head-cached": { batch: 64, description: "head-only on cached body features (dense128+head on 3136 features)" },
};

/** Result of timing `model.fit` on one workload. */
export interface Throughput {
  readonly samplesPerS: number;
  readonly batchesTimed: number;
  readonly seconds: number;
  /** True when the only timed batch was the first one (too slow to afford a warm-up). */
  readonly includesWarmup: boolean;
}

function seededTensor(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return tf.tensor(v, shape);
}

function seededLabels(rng: Rng, count: number, numClasses: number): tf.Tensor {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(numClasses);
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), numClasses));
}

/** The model of a workload (seeded) and its sample shape. */
export function buildWorkload(workload: Workload, seed: number): { model: tf.Sequential; sampleShape: number[] } {
  switch (workload) {
    case "mlp":
      return { model: buildMlp({ inputShape: [784], hiddenUnits: [128], numClasses: 10, seed }), sampleShape: [784] };
    case "cnn":
      return { model: buildCnn({ numClasses: 10, seed }), sampleShape: [28, 28, 1] };
    case "head": {
      const model = buildCnn({ numClasses: 10, seed });
      freezeAllBut(model, 2);
      return { model, sampleShape: [28, 28, 1] };
    }
    case "head-cached":
      // What the body's flatten layer outputs for 28×28 input after two 2×2 pools: 7·7·64.
      return { model: buildMlp({ inputShape: [3136], hiddenUnits: [128], numClasses: 10, seed }), sampleShape: [3136] };
  }
}

/**
 * Samples per second of raw tfjs `model.fit` (SGD + momentum, shuffle off) on the current backend.
 * One batch is fitted first as warm-up, two more calibrate; then as many batches as fit in `budgetSeconds` (at most
 * `maxBatches`) are timed in one `fit` call. A workload whose first batch already takes more than half the budget is
 * reported from that batch alone (time-box for the cpu backend's CNN, ~13 s a batch).
 */
export async function fitThroughput(workload: Workload, budgetSeconds: number, seed = 8, maxBatches = 200): Promise<Throughput> {
  const { batch } = WORKLOADS[workload];
  const { model, sampleShape } = buildWorkload(workload, seed);
  const optimizer = tf.train.momentum(0.01, 0.9);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const rng = new Rng(seed);
  const fitBatches = async (count: number): Promise<number> => {
    const x = seededTensor(rng, [count * batch, ...sampleShape]);
    const y = seededLabels(rng, count * batch, 10);
    const start = performance.now();
    await model.fit(x, y, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
    const seconds = (performance.now() - start) / 1000;
    tf.dispose([x, y]);
    return seconds;
  };
  try {
    const first = await fitBatches(1);
    if (first > budgetSeconds / 2) {
      return { samplesPerS: batch / first, batchesTimed: 1, seconds: first, includesWarmup: true };
    }
    // The first fit pays one-off costs (kernel setup, graph tracing); calibrate on a second, short one.
    const perBatch = (await fitBatches(2)) / 2;
    const count = Math.max(2, Math.min(maxBatches, Math.ceil(budgetSeconds / perBatch)));
    const seconds = await fitBatches(count);
    return { samplesPerS: (count * batch) / seconds, batchesTimed: count, seconds, includesWarmup: false };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
