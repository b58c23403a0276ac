/** Choosing what trains: freeze all but the last k weighted layers, or swap the classification head. */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../util/rng";
import { getWeights, setWeights, weightedLayers } from "./modelWeights";

/**
 * Freeze every weighted layer except the last `k` (layers without weights — pooling, flatten —
 * are not counted). Returns the names of the layers left trainable. `k = 0` freezes everything.
 */
export function freezeAllBut(model: tf.LayersModel, k: number): string[] {
  const layers = weightedLayers(model);
  if (!(Number.isInteger(k) && k >= 0)) throw new Error(`freezeAllBut(${model.name}): k must be an integer ≥ 0, got ${k}`);
  if (k > layers.length) {
    throw new Error(`freezeAllBut(${model.name}): model has ${layers.length} layers with weights, cannot keep ${k} trainable`);
  }
  const trainable: string[] = [];
  layers.forEach((l, i) => {
    l.layer.trainable = i >= layers.length - k;
    if (l.layer.trainable) trainable.push(l.layer.name);
  });
  return trainable;
}

/** Make every layer trainable again. */
export function unfreezeAll(model: tf.LayersModel): void {
  for (const l of weightedLayers(model)) l.layer.trainable = true;
}

/** Which layers train: the model's current flags, all, the last k weighted layers, or named layers. */
export type TrainableLayers = "model" | "all" | { readonly lastLayers: number } | { readonly layers: readonly string[] };

/** Names of the weighted layers a `TrainableLayers` choice makes trainable (errors name bad values). */
export function selectTrainableLayers(model: tf.LayersModel, spec: TrainableLayers): string[] {
  const layers = weightedLayers(model);
  if (spec === "model") return layers.filter((l) => l.layer.trainable).map((l) => l.layer.name);
  if (spec === "all") return layers.map((l) => l.layer.name);
  if ("lastLayers" in spec) {
    const k = spec.lastLayers;
    if (!(Number.isInteger(k) && k >= 1 && k <= layers.length)) {
      throw new Error(`selectTrainableLayers(${model.name}): lastLayers must be an integer in [1, ${layers.length}], got ${k}`);
    }
    return layers.slice(layers.length - k).map((l) => l.layer.name);
  }
  const known = layers.map((l) => l.layer.name);
  for (const name of spec.layers) {
    if (!known.includes(name)) {
      throw new Error(`selectTrainableLayers(${model.name}): trainable layer "${name}" is not a weighted layer; have ${known.join(", ")}`);
    }
  }
  return known.filter((n) => spec.layers.includes(n));
}

/** Names of the weighted layers that are currently trainable. */
export function trainableLayerNames(model: tf.LayersModel): string[] {
  return weightedLayers(model)
    .filter((l) => l.layer.trainable)
    .map((l) => l.layer.name);
}

/** JSON as produced by `model.toJSON(null, false)` — only the parts we edit are typed. */
interface LayerJson {
  class_name: string;
  config: { name: string; units?: number; kernel_initializer?: unknown; [key: string]: unknown };
}

/**
 * A new model equal to `model` (same body weights and frozen flags) whose head — the last weighted
 * layer, which must be Dense — is replaced by a freshly initialised `numClasses`-unit layer
 * (Glorot-uniform seeded by `seed`, zero bias, trainable). `model` is left untouched; dispose it
 * yourself when no longer needed.
 */
export async function replaceHead(model: tf.LayersModel, numClasses: number, seed: number): Promise<tf.LayersModel> {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) {
    throw new Error(`replaceHead(${model.name}): numClasses must be a positive integer, got ${numClasses}`);
  }
  const layers = weightedLayers(model);
  const head = layers[layers.length - 1];
  if (!head || head.className !== "Dense") {
    throw new Error(`replaceHead(${model.name}): the last weighted layer must be Dense, got ${head ? head.className : "none"}`);
  }
  const topology = model.toJSON(null, false) as unknown as { config: { layers: LayerJson[] } };
  const headJson = topology.config.layers.find((l) => l.config.name === head.layer.name);
  if (!headJson) throw new Error(`replaceHead(${model.name}): head layer "${head.layer.name}" not found in the topology`);
  headJson.config.units = numClasses;
  headJson.config.trainable = true;
  headJson.config.kernel_initializer = {
    class_name: "VarianceScaling",
    config: { scale: 1, mode: "fan_avg", distribution: "uniform", seed: deriveSeed(seed, head.layer.name, "replaced") },
  };
  headJson.config.bias_initializer = { class_name: "Zeros", config: {} };
  const fresh = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON["modelTopology"] });
  const old = getWeights(model);
  const init = getWeights(fresh);
  const headNames = new Set(head.variables.map((v) => v.originalName));
  setWeights(
    fresh,
    init.map((w, i) => (headNames.has(w.name) ? w : old[i])),
  );
  return fresh;
}
