/**
 * Model weights on shared memory, for posting to worker threads. Node's structured clone copies a Float32Array on the
 * sending thread at a few hundred MB/s (about 5 ms for the default CNN's 1.7 MB), and the pool posted the same global
 * weights with every job of a round, on the main thread, between a worker's jobs. A SharedArrayBuffer is posted
 * without copying: the main thread copies each weights object into one once per run, and a worker copies the values
 * out into its own arrays before a job uses them, so every job still gets private weights, bit for bit the same.
 */
import type { ModelWeights } from "../model/weights";

/** `weights` copied into one SharedArrayBuffer (names and shapes kept; values are views on it). */
export function toSharedWeights(weights: ModelWeights): ModelWeights {
  const total = weights.reduce((n, t) => n + t.values.length, 0);
  const memory = new SharedArrayBuffer(total * Float32Array.BYTES_PER_ELEMENT);
  let offset = 0;
  return weights.map((t) => {
    const values = new Float32Array(memory, offset * Float32Array.BYTES_PER_ELEMENT, t.values.length);
    values.set(t.values);
    offset += t.values.length;
    return { name: t.name, shape: t.shape, values };
  });
}

/** `weights` with every value array on shared memory copied into an array of its own (others are kept as they are). */
export function ownWeights(weights: ModelWeights): ModelWeights {
  return weights.map((t) => (t.values.buffer instanceof SharedArrayBuffer ? { name: t.name, shape: t.shape, values: new Float32Array(t.values) } : t));
}

/** One run's shared copies: each weights object (by identity) is copied to shared memory once. */
export class SharedWeightsMemo {
  private readonly copies = new Map<ModelWeights, ModelWeights>();

  /** The shared copy of `weights`, made on first use. */
  of(weights: ModelWeights): ModelWeights {
    let shared = this.copies.get(weights);
    if (shared === undefined) {
      shared = toSharedWeights(weights);
      this.copies.set(weights, shared);
    }
    return shared;
  }
}
