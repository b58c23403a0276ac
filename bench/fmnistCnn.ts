/**
 * Issue 15's setting: the CNN of personalised-FL benchmarks on Fashion-MNIST-sized images (conv 5×5 32 valid → pool →
 * conv 5×5 64 valid → pool → dense 512 → 10), plain SGD (lr 0.005, no momentum), batch 10 and 32; fedtune's
 * `Trainer` against PyTorch on the same model, batch and thread count.
 */
import * as tf from "@tensorflow/tfjs";
import { buildCnn } from "../lib/model/cnn";
import { Trainer } from "../lib/model/trainer";
import { Rng } from "../lib/util/rng";
import type { RoundSetting } from "./poolSpeedup";
import { randomImages } from "./randomImages";

/** The evaluation batch of fedtune's `Trainer` (its default) and of the PyTorch evaluation. */
export const EVAL_BATCH = 512;

/** The CNN, seeded. */
export function fmnistCnn(seed: number): tf.Sequential {
  return buildCnn({ numClasses: 10, kernelSize: 5, padding: "valid", denseUnits: 512, seed });
}

/** The local training at `batchSize`: plain SGD, lr 0.005. */
export function fmnistRound(batchSize: number): RoundSetting {
  return { model: fmnistCnn, batchSize, learningRate: 0.005, momentum: 0 };
}

/** `n` seeded random images (see randomImages) from a fresh generator seeded with `seed`. */
export function fmnistImages(n: number, seed: number, name: string) {
  return randomImages(new Rng(seed), n, name);
}

/** Samples/s of `Trainer.evaluate` on `samples` images (batch EVAL_BATCH), best of `reps` after one untimed run. */
export function fmnistEvaluation(samples: number, reps: number, seed: number): number {
  const trainer = new Trainer(fmnistCnn(seed), { evalBatchSize: EVAL_BATCH });
  const test = fmnistImages(samples, seed + 1, "fmnist-test");
  const weights = trainer.getWeights();
  try {
    let seconds = Infinity;
    for (let r = 0; r <= reps; r++) {
      trainer.invalidate(); // load the weights each time, as evaluating a new global model does
      const t0 = performance.now();
      trainer.evaluate(weights, test);
      if (r > 0) seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    }
    return samples / seconds;
  } finally {
    trainer.dispose();
  }
}
