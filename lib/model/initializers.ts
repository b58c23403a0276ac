/**
 * Seeded tfjs initialisers: every layer draws from its own seed derived from the model seed and
 * the layer name, so the same seed builds bitwise-identical models and adding a layer does not
 * shift the others.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../util/rng";

/** A tfjs weight initialiser (tfjs does not export the class type by name). */
export type SeededInitializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** Glorot-uniform kernel initialiser seeded from (seed, layerName). */
export function seededKernelInitializer(seed: number, layerName: string): SeededInitializer {
  return tf.initializers.glorotUniform({ seed: deriveSeed(seed, layerName, "kernel") });
}

/** He-normal kernel initialiser (for ReLU convolutions) seeded from (seed, layerName). */
export function seededHeInitializer(seed: number, layerName: string): SeededInitializer {
  return tf.initializers.heNormal({ seed: deriveSeed(seed, layerName, "kernel") });
}
