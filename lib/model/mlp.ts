/** A multi-layer perceptron classifier builder (dense → [batch norm] → activation, …, softmax head). */
import * as tf from "@tensorflow/tfjs";
import { seededKernelInitializer } from "./initializers";

/** Options for `buildMlp`. */
export interface MlpOptions {
  /** Shape of one sample, e.g. [64] or [8, 8, 1] (flattened first). */
  readonly inputShape: readonly number[];
  /** Units of each hidden dense layer; default [128]. */
  readonly hiddenUnits?: readonly number[];
  /** Number of classes (units of the softmax head). */
  readonly numClasses: number;
  /** Hidden activation; default "relu". */
  readonly activation?: "relu" | "tanh" | "sigmoid" | "elu";
  /** Insert batch normalisation after each hidden dense layer (what FedBN keeps local); default false. */
  readonly batchNorm?: boolean;
  /** Seed for all initialisers; default 0. */
  readonly seed?: number;
}

/**
 * Build an MLP as a `tf.Sequential`. Layer names are fixed ("hidden_1", "bn_1", "head") so that
 * weight names are stable across instances. The head outputs class probabilities (softmax).
 */
export function buildMlp(options: MlpOptions): tf.Sequential {
  const { inputShape, numClasses } = options;
  const hiddenUnits = options.hiddenUnits ?? [128];
  const activation = options.activation ?? "relu";
  const seed = options.seed ?? 0;
  checkShape("buildMlp", inputShape);
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) {
    throw new Error(`buildMlp: numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  hiddenUnits.forEach((u, i) => {
    if (!(Number.isInteger(u) && u > 0)) throw new Error(`buildMlp: hiddenUnits[${i}] must be a positive integer, got ${u}`);
  });
  const model = tf.sequential({ name: "mlp" });
  let first = true;
  const input = (): { inputShape?: number[] } => {
    if (!first) return {};
    first = false;
    return { inputShape: [...inputShape] };
  };
  if (inputShape.length > 1) model.add(tf.layers.flatten({ name: "flatten", ...input() }));
  hiddenUnits.forEach((units, i) => {
    const name = `hidden_${i + 1}`;
    const bn = options.batchNorm === true;
    model.add(
      tf.layers.dense({
        name,
        units,
        activation: bn ? "linear" : activation,
        kernelInitializer: seededKernelInitializer(seed, name),
        ...input(),
      }),
    );
    if (bn) {
      model.add(tf.layers.batchNormalization({ name: `bn_${i + 1}` }));
      model.add(tf.layers.activation({ name: `act_${i + 1}`, activation }));
    }
  });
  model.add(
    tf.layers.dense({
      name: "head",
      units: numClasses,
      activation: "softmax",
      kernelInitializer: seededKernelInitializer(seed, "head"),
      ...input(),
    }),
  );
  return model;
}

/** Throw unless `shape` is a non-empty list of positive integers. */
export function checkShape(context: string, shape: readonly number[]): void {
  if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${context}: inputShape must be a non-empty list of positive integers, got [${shape}]`);
  }
}
