/**
 * Moving weights between a tfjs model and plain `ModelWeights`. The order is per layer, in layer
 * order, each layer's own variable order — NOT `model.weights`, whose order changes when a layer
 * is frozen (tfjs lists trainable variables first). Names are the layer-scoped names
 * ("head/kernel"), which are stable across model instances built with the same layer names.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelWeights, WeightTensor } from "./weights";

/** The variable type behind a layer's weights (tfjs does not export it by name). */
export type LayerVariable = tf.LayersModel["weights"][number];

/** A layer that owns weights, with its variables in their stable order. */
export interface WeightedLayer {
  /** The layer itself. */
  readonly layer: tf.layers.Layer;
  /** Index in `model.layers` (top level). */
  readonly index: number;
  /** Layer class, e.g. "Dense", "Conv2D", "BatchNormalization". */
  readonly className: string;
  /** Its variables, in the layer's own order (trainable then non-trainable). */
  readonly variables: readonly LayerVariable[];
}

/** Layers of `model` that own weights, in order (nested models are flattened). */
export function weightedLayers(model: tf.LayersModel): WeightedLayer[] {
  const out: WeightedLayer[] = [];
  model.layers.forEach((layer, index) => {
    if (layer instanceof tf.LayersModel) {
      for (const inner of weightedLayers(layer)) out.push({ ...inner, index });
      return;
    }
    // Per-layer order is stable under freezing: frozen layers list _trainableWeights then _nonTrainableWeights.
    const variables = layer.weights;
    if (variables.length > 0) out.push({ layer, index, className: layer.getClassName(), variables });
  });
  return out;
}

/** All variables of `model` in the stable fedtune order. */
export function modelVariables(model: tf.LayersModel): LayerVariable[] {
  return weightedLayers(model).flatMap((l) => [...l.variables]);
}

/** A copy of the model's current weights as plain arrays. */
export function getWeights(model: tf.LayersModel): ModelWeights {
  return modelVariables(model).map((v) => {
    // Copy: on the cpu backend dataSync() returns the backend's own buffer.
    const values = Float32Array.from(v.read().dataSync() as Float32Array);
    return { name: v.originalName, shape: [...(v.shape as number[])], values };
  });
}

/** Options for `setWeights`. */
export interface SetWeightsOptions {
  /** Accept weights whose names differ (shapes must still match), e.g. from a model with default layer names. */
  readonly ignoreNames?: boolean;
}

/** Load `weights` into `model`; errors name the first variable whose name or shape does not match. */
export function setWeights(model: tf.LayersModel, weights: ModelWeights, options: SetWeightsOptions = {}): void {
  const vars = modelVariables(model);
  if (vars.length !== weights.length) {
    throw new Error(`setWeights(${model.name}): model has ${vars.length} weight tensors, got ${weights.length}`);
  }
  vars.forEach((v, i) => checkTensor(model.name, v, weights[i], i, options));
  vars.forEach((v, i) => {
    // Copy the values so the backend never aliases the caller's array.
    const t = tf.tensor(weights[i].values.slice(), v.shape as number[], "float32");
    (v.read() as tf.Variable).assign(t);
    t.dispose();
  });
}

function checkTensor(modelName: string, v: LayerVariable, w: WeightTensor, i: number, options: SetWeightsOptions): void {
  if (!options.ignoreNames && v.originalName !== w.name) {
    throw new Error(`setWeights(${modelName}): weight ${i} is "${w.name}" but the model's variable ${i} is "${v.originalName}"`);
  }
  const expected = v.shape as number[];
  const same = expected.length === w.shape.length && expected.every((d, k) => d === w.shape[k]);
  if (!same) {
    throw new Error(`setWeights(${modelName}): variable "${v.originalName}" has shape [${expected}], got [${w.shape}] for "${w.name}"`);
  }
  const size = expected.reduce((a, b) => a * b, 1);
  if (w.values.length !== size) {
    throw new Error(`setWeights(${modelName}): "${w.name}" has ${w.values.length} values, shape [${expected}] needs ${size}`);
  }
}

/** For each weight tensor of `model` (stable order), the name of the layer that owns it. */
export function weightLayerNames(model: tf.LayersModel): string[] {
  return weightedLayers(model).flatMap((l) => l.variables.map(() => l.layer.name));
}

/** Mask over the stable weight order: true for tensors owned by the last `k` weighted layers (the "head"). */
export function headMask(model: tf.LayersModel, k = 1): boolean[] {
  const layers = weightedLayers(model);
  if (!(Number.isInteger(k) && k >= 0 && k <= layers.length)) {
    throw new Error(`headMask(${model.name}): k must be an integer in [0, ${layers.length}], got ${k}`);
  }
  return layers.flatMap((l, i) => l.variables.map(() => i >= layers.length - k));
}

/** Mask over the stable weight order: true for tensors owned by batch-normalisation layers (FedBN keeps these local). */
export function batchNormMask(model: tf.LayersModel): boolean[] {
  return weightedLayers(model).flatMap((l) => l.variables.map(() => l.className === "BatchNormalization"));
}
