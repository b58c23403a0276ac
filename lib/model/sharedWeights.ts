/**
 * Model weights in one SharedArrayBuffer: what a worker thread sends when the receiver may hand the values to another
 * thread without a copy (the 2-thread weighted sum, lib/kernels/weightedSumThreads.ts, reads such updates in place).
 * Posting them shares the memory instead of copying it; the sender must not write to them afterwards.
 */
import type { ModelWeights } from "./weights";

/** Whether this runtime has SharedArrayBuffer (browsers without cross-origin isolation do not). */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer !== "undefined";
}

/**
 * A copy of `weights` whose values are views of one SharedArrayBuffer, each variable starting on a 16-byte boundary
 * (so copies out of it run at full speed: see lib/kernels/weightedSum.ts). Without SharedArrayBuffer, `weights` itself.
 */
export function toSharedWeights(weights: ModelWeights): ModelWeights {
  if (!sharedMemoryAvailable()) return weights;
  const offsets: number[] = [];
  let floats = 0;
  for (const w of weights) {
    offsets.push(floats);
    floats += Math.ceil(w.values.length / 4) * 4;
  }
  const buffer = new SharedArrayBuffer(floats * 4);
  return weights.map((w, v) => {
    const values = new Float32Array(buffer, offsets[v] * 4, w.values.length);
    values.set(w.values);
    return { name: w.name, shape: w.shape.slice(), values };
  });
}
