/** A small convolutional classifier builder: (conv → [bn] → relu → max-pool) × n → dense → softmax head. */
import * as tf from "@tensorflow/tfjs";
import { seededHeInitializer, seededKernelInitializer } from "./initializers";
import { checkShape } from "./mlp";

/** Options for `buildCnn`. */
export interface CnnOptions {
  /** Image shape [height, width, channels]; default [28, 28, 1]. */
  readonly inputShape?: readonly [number, number, number];
  /** Filters of each convolution block; default [32, 64]. */
  readonly filters?: readonly number[];
  /** Square kernel size of every convolution; default 3. */
  readonly kernelSize?: number;
  /** Padding of every convolution: "same" keeps height and width, "valid" shrinks them; default "same". */
  readonly padding?: "same" | "valid";
  /** Units of the dense layer before the head (0 = none); default 128. */
  readonly denseUnits?: number;
  /** Number of classes (units of the softmax head). */
  readonly numClasses: number;
  /** Batch normalisation after each convolution (what FedBN keeps local); default false. */
  readonly batchNorm?: boolean;
  /** Seed for all initialisers; default 0. */
  readonly seed?: number;
}

/**
 * Build a CNN as a `tf.Sequential` with fixed layer names ("conv_1", "pool_1", …, "dense_1", "head").
 * Defaults give conv32-pool-conv64-pool-dense128-softmax for 28×28×1 images ("same" padding); the personalised-FL
 * benchmarks' CNN (issue 15) is `{ kernelSize: 5, padding: "valid", denseUnits: 512 }`.
 */
export function buildCnn(options: CnnOptions): tf.Sequential {
  const inputShape = options.inputShape ?? [28, 28, 1];
  const filters = options.filters ?? [32, 64];
  const kernelSize = options.kernelSize ?? 3;
  const denseUnits = options.denseUnits ?? 128;
  const seed = options.seed ?? 0;
  const padding = options.padding ?? "same";
  const { numClasses } = options;
  checkShape("buildCnn", inputShape);
  if (inputShape.length !== 3) throw new Error(`buildCnn: inputShape must be [height, width, channels], got [${inputShape}]`);
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) {
    throw new Error(`buildCnn: numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  if (filters.length === 0) throw new Error(`buildCnn: filters must list at least one convolution, got []`);
  filters.forEach((f, i) => {
    if (!(Number.isInteger(f) && f > 0)) throw new Error(`buildCnn: filters[${i}] must be a positive integer, got ${f}`);
  });
  if (!(Number.isInteger(kernelSize) && kernelSize > 0)) throw new Error(`buildCnn: kernelSize must be a positive integer, got ${kernelSize}`);
  if (padding !== "same" && padding !== "valid") throw new Error(`buildCnn: padding must be "same" or "valid", got ${String(padding)}`);
  if (!(Number.isInteger(denseUnits) && denseUnits >= 0)) throw new Error(`buildCnn: denseUnits must be an integer ≥ 0, got ${denseUnits}`);

  const model = tf.sequential({ name: "cnn" });
  filters.forEach((f, i) => {
    const name = `conv_${i + 1}`;
    const bn = options.batchNorm === true;
    model.add(
      tf.layers.conv2d({
        name,
        filters: f,
        kernelSize,
        padding,
        activation: bn ? "linear" : "relu",
        kernelInitializer: seededHeInitializer(seed, name),
        ...(i === 0 ? { inputShape: [...inputShape] } : {}),
      }),
    );
    if (bn) {
      model.add(tf.layers.batchNormalization({ name: `bn_${i + 1}` }));
      model.add(tf.layers.activation({ name: `relu_${i + 1}`, activation: "relu" }));
    }
    model.add(tf.layers.maxPooling2d({ name: `pool_${i + 1}`, poolSize: 2 }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  if (denseUnits > 0) {
    model.add(
      tf.layers.dense({ name: "dense_1", units: denseUnits, activation: "relu", kernelInitializer: seededHeInitializer(seed, "dense_1") }),
    );
  }
  model.add(
    tf.layers.dense({ name: "head", units: numClasses, activation: "softmax", kernelInitializer: seededKernelInitializer(seed, "head") }),
  );
  return model;
}
