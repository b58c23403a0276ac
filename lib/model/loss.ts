/** Classification losses on model outputs (probabilities from a softmax head, or raw logits). */
import * as tf from "@tensorflow/tfjs";
import { CROSS_ENTROPY } from "../kernels/crossEntropy";

/** What the model's last layer emits. */
export type OutputKind = "probabilities" | "logits";

/** Clip for log(p): the same ε as Keras, so a confident wrong answer costs ≈ 16, not Infinity. */
export const CROSS_ENTROPY_EPSILON = 1e-7;

/**
 * Per-sample cross-entropy, shape [batch], for integer `labels` (shape [batch], int32). Probabilities go through
 * fedtune's one-kernel cross-entropy where the backend has it (wasm with fedtune's kernels): the same float32
 * operations as the composition below, in one kernel call and one gradient call instead of 18.
 */
export function crossEntropyPerSample(outputs: tf.Tensor, labels: tf.Tensor, numClasses: number, kind: OutputKind): tf.Tensor1D {
  if (kind === "probabilities" && outputs.rank === 2 && outputs.shape[1] === numClasses && outputs.dtype === "float32" &&
    labels.dtype === "int32" && labels.rank === 1 && tf.getKernel(CROSS_ENTROPY, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(CROSS_ENTROPY, { probabilities: outputs, labels }, { epsilon: CROSS_ENTROPY_EPSILON }) as tf.Tensor1D;
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels as tf.Tensor1D, numClasses).toFloat();
    if (kind === "logits") {
      return tf.losses.softmaxCrossEntropy(oneHot, outputs as tf.Tensor2D, undefined, 0, tf.Reduction.NONE) as tf.Tensor1D;
    }
    const logP = tf.log(tf.clipByValue(outputs, CROSS_ENTROPY_EPSILON, 1 - CROSS_ENTROPY_EPSILON));
    return tf.neg(tf.sum(tf.mul(oneHot, logP), -1)) as tf.Tensor1D;
  });
}

/** The output kind of `model`: "probabilities" when its last layer ends in softmax, else "logits". */
export function detectOutputKind(model: tf.LayersModel): OutputKind {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return config.activation === "softmax" ? "probabilities" : "logits";
}
