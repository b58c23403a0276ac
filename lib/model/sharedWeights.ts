/**
 * Model weights in one SharedArrayBuffer: what a worker thread sends when the receiver may hand the values to another
 * thread without a copy (the 2-thread weighted sum, lib/kernels/weightedSumThreads.ts, reads such updates in place),
 * and how the worker pool sends a run's global weights to its workers. Posting them shares the memory instead of
 * copying it (Node's structured clone copies a Float32Array on the sending thread at a few hundred MB/s: about 5 ms for
 * the default CNN's 1.7 MB); the sender must not write to them afterwards.
 */
import type { ModelWeights } from "./weights";
import type { UpdateArena } from "../kernels/updateArena";

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

/**
 * One pool call's shared copies (a round's fits, or its evaluations): each weights object (by identity) is copied to shared memory once. The worker pool posted
 * the same global weights with every job of a round, on the main thread, between a worker's jobs; now every job reads
 * them in place, as the serial executor's participants all read the same global arrays (nothing writes to them).
 * Given the update arena, the copy goes into one of its blocks, which comes back for a later round once the memo and
 * its copies are unreachable: a fresh SharedArrayBuffer per round was fresh pages, ~400 page faults (~7 ms) for the
 * default CNN before the round's first job could be posted.
 */
export class SharedWeightsMemo {
  private readonly copies = new Map<ModelWeights, ModelWeights>();

  /** A memo copying into `arena` when it has room (else into SharedArrayBuffers). */
  constructor(private readonly arena?: UpdateArena) {}

  /** The shared copy of `weights`, made on first use. */
  of(weights: ModelWeights): ModelWeights {
    let shared = this.copies.get(weights);
    if (shared === undefined) {
      shared = (sharedMemoryAvailable() ? this.arena?.hold(weights) : undefined) ?? toSharedWeights(weights);
      this.copies.set(weights, shared);
    }
    return shared;
  }
}
