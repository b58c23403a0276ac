/**
 * Arithmetic on plain `ModelWeights`: what strategies, personalisation and accounting need
 * (deltas, sums, norms, sizes, masks). Pure functions on Float32Arrays, no tfjs, so they are exact,
 * fast and usable in worker threads. Inputs are never mutated; every result is a fresh copy.
 */
import type { ModelWeights, WeightTensor } from "./weights";
import { assertSameLayout } from "./weightLayout";

/** Bytes per parameter on the wire and in checkpoints (float32). */
export const BYTES_PER_PARAMETER = 4;

/** Throw a clear error unless `a` and `b` have the same variables (names, shapes) in the same order (`assertSameLayout`, the one layout check). */
export function assertSameStructure(a: ModelWeights, b: ModelWeights, context = "weights"): void {
  assertSameLayout(a, b, context, "the second weights");
}

/** A deep copy (fresh Float32Arrays). */
export function cloneWeights(w: ModelWeights): ModelWeights {
  return w.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() }));
}

/** Same structure, all zeros. */
export function zerosLikeWeights(w: ModelWeights): ModelWeights {
  return w.map((t) => ({ name: t.name, shape: [...t.shape], values: new Float32Array(t.values.length) }));
}

function zipMap(a: ModelWeights, b: ModelWeights, context: string, f: (x: number, y: number) => number): ModelWeights {
  assertSameStructure(a, b, context);
  return a.map((t, i) => {
    const u = b[i].values;
    const out = new Float32Array(t.values.length);
    for (let k = 0; k < out.length; k++) out[k] = f(t.values[k], u[k]);
    return { name: t.name, shape: [...t.shape], values: out };
  });
}

/** a + b, elementwise. */
export function addWeights(a: ModelWeights, b: ModelWeights): ModelWeights {
  return zipMap(a, b, "addWeights", (x, y) => x + y);
}

/** a − b, elementwise (e.g. an update's delta `local − global`). */
export function subtractWeights(a: ModelWeights, b: ModelWeights): ModelWeights {
  return zipMap(a, b, "subtractWeights", (x, y) => x - y);
}

/** The update a participant made: `after − before`. */
export function weightsDelta(after: ModelWeights, before: ModelWeights): ModelWeights {
  return subtractWeights(after, before);
}

/** s · w. */
export function scaleWeights(w: ModelWeights, s: number): ModelWeights {
  return w.map((t) => {
    const out = new Float32Array(t.values.length);
    for (let k = 0; k < out.length; k++) out[k] = t.values[k] * s;
    return { name: t.name, shape: [...t.shape], values: out };
  });
}

/** Euclidean norm of all parameters together, accumulated in float64. */
export function l2Norm(w: ModelWeights): number {
  let s = 0;
  for (const t of w) for (let k = 0; k < t.values.length; k++) s += t.values[k] * t.values[k];
  return Math.sqrt(s);
}

/** ‖a − b‖₂ without materialising the difference. */
export function l2Distance(a: ModelWeights, b: ModelWeights): number {
  assertSameStructure(a, b, "l2Distance");
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i].values;
    const y = b[i].values;
    for (let k = 0; k < x.length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
  }
  return Math.sqrt(s);
}

/** Largest |a − b| over all parameters (0 means bitwise-equal values up to ±0). */
export function maxAbsDifference(a: ModelWeights, b: ModelWeights): number {
  assertSameStructure(a, b, "maxAbsDifference");
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i].values;
    const y = b[i].values;
    for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(x[k] - y[k]));
  }
  return m;
}

/** True when both have the same structure and bitwise-identical values. */
export function weightsEqual(a: ModelWeights, b: ModelWeights): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].values.length !== b[i].values.length) return false;
    const x = new Uint32Array(a[i].values.buffer, a[i].values.byteOffset, a[i].values.length);
    const y = new Uint32Array(b[i].values.buffer, b[i].values.byteOffset, b[i].values.length);
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
  }
  return true;
}

/** Number of scalar parameters. */
export function numParameters(w: ModelWeights): number {
  return w.reduce((s, t) => s + t.values.length, 0);
}

/** Size in bytes when sent or stored as float32 (optionally only the tensors where `mask` is true). */
export function byteSize(w: ModelWeights, mask?: readonly boolean[]): number {
  let n = 0;
  for (let i = 0; i < w.length; i++) if (!mask || mask[i]) n += w[i].values.length;
  return n * BYTES_PER_PARAMETER;
}

/** A copy of `base` whose tensors where `takeFromOther[i]` is true come from `other` instead. */
export function mergeWeights(base: ModelWeights, other: ModelWeights, takeFromOther: readonly boolean[]): ModelWeights {
  assertSameStructure(base, other, "mergeWeights");
  if (takeFromOther.length !== base.length) {
    throw new Error(`mergeWeights: mask has ${takeFromOther.length} entries, weights have ${base.length}`);
  }
  return base.map((t, i) => {
    const src: WeightTensor = takeFromOther[i] ? other[i] : t;
    return { name: src.name, shape: [...src.shape], values: src.values.slice() };
  });
}

/** Names of the tensors that contain a NaN or ±Infinity (empty when all finite). */
export function nonFiniteWeights(w: ModelWeights): string[] {
  const bad: string[] = [];
  for (const t of w) {
    for (let k = 0; k < t.values.length; k++) {
      if (!Number.isFinite(t.values[k])) {
        bad.push(t.name);
        break;
      }
    }
  }
  return bad;
}
