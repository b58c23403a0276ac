/**
 * Aggregation arithmetic: pure functions over ModelWeights (after Flower's `strategy/aggregate.py`).
 * Strategies compose these; tests hit them directly. Float32Array loops (the weighted sum on wasm SIMD), no tfjs: averaging
 * must be exact and cheap, and must not allocate tensors that somebody has to dispose.
 *
 * Precision rule: every reduction accumulates in Float64 and rounds to float32 once, at the end,
 * so results do not depend on the order of participants beyond the last float32 rounding.
 */
import type { ModelWeights, WeightTensor } from "../model/weights";
import { cloneWeights, l2Norm } from "../model/weightOps";
import { weightedSumAll } from "../kernels/weightedSumThreads";
import { assertSameLayout } from "../model/weightLayout";

export { assertSameLayout } from "../model/weightLayout";

/** Weights with an optional owner, so that errors can say whose update is broken. */
export interface LabelledWeights {
  /** The model weights. */
  readonly weights: ModelWeights;
  /** Who sent them (used in error messages only). */
  readonly participantId?: string;
}

/** Weights with the number of training examples behind them (the FedAvg weight |Dᵢ|). */
export interface WeightedWeights extends LabelledWeights {
  /** Number of examples, > 0 and finite. */
  readonly numExamples: number;
}

// ---------------------------------------------------------------------------------------------
// Layout checks
// ---------------------------------------------------------------------------------------------

function who(input: LabelledWeights, index: number): string {
  return input.participantId !== undefined ? `participant "${input.participantId}"` : `update #${index}`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

function checkInputs(inputs: readonly LabelledWeights[], context: string): void {
  if (inputs.length === 0) throw new Error(`${context}: needs at least 1 update, got 0`);
  const ref = inputs[0].weights;
  for (let v = 0; v < ref.length; v++) {
    const w = ref[v];
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (size !== w.values.length) {
      throw new Error(
        `${context}: ${who(inputs[0], 0)} variable "${w.name}" has shape ${shapeText(w.shape)} ` +
          `(${size} values) but ${w.values.length} values`,
      );
    }
  }
  for (let i = 1; i < inputs.length; i++) {
    assertSameLayout(ref, inputs[i].weights, context, `${who(inputs[i], i)}`);
  }
}

function checkNumExamples(inputs: readonly WeightedWeights[], context: string): void {
  inputs.forEach((u, i) => {
    if (!(Number.isInteger(u.numExamples) && u.numExamples > 0)) {
      throw new Error(`${context}: ${who(u, i)} numExamples must be a positive integer (a count of examples), got ${u.numExamples}`);
    }
  });
}

/** Throw naming the first participant/variable with a non-finite value, if the result is not finite. */
function checkFinite(result: ModelWeights, inputs: readonly LabelledWeights[], context: string): void {
  for (const w of result) {
    for (let k = 0; k < w.values.length; k++) {
      if (!Number.isFinite(w.values[k])) {
        for (let i = 0; i < inputs.length; i++) {
          const src = inputs[i].weights.find((x) => x.name === w.name);
          if (src && src.values.some((x) => !Number.isFinite(x))) {
            throw new Error(`${context}: ${who(inputs[i], i)} has a non-finite value (NaN/Inf) in "${w.name}"`);
          }
        }
        throw new Error(`${context}: result overflowed float32 in "${w.name}" at index ${k}`);
      }
    }
  }
}

function withValues(template: WeightTensor, values: Float32Array): WeightTensor {
  return { name: template.name, shape: template.shape.slice(), values };
}

// ---------------------------------------------------------------------------------------------
// Averages
// ---------------------------------------------------------------------------------------------

/**
 * FedAvg's weighted average θ = Σ nᵢ/N · θᵢ (McMahan et al. 2017), computed as (Σ nᵢθᵢ)/N in
 * Float64 (participants in order) and rounded to float32 once — on wasm SIMD (lib/kernels/weightedSum.ts),
 * bitwise the textbook loop's result; updates in the update arena (as the worker pool's workers write them) are summed
 * in place, and large updates in shared memory are split between this thread and a helper thread
 * (lib/kernels/weightedSumThreads.ts), same bits. One update is returned as an exact
 * (bitwise) copy.
 */
export function weightedAverage(updates: readonly WeightedWeights[]): ModelWeights {
  const context = "weightedAverage";
  checkInputs(updates, context);
  checkNumExamples(updates, context);
  if (updates.length === 1) return cloneWeights(updates[0].weights);
  let total = 0;
  for (const u of updates) total += u.numExamples;
  const factors = updates.map((u) => u.numExamples);
  const tasks = updates[0].weights.map((w, v) => ({ out: new Float32Array(w.values.length), inputs: updates.map((u) => u.weights[v].values) }));
  const finite = weightedSumAll(tasks, factors, total);
  const result = updates[0].weights.map((w, v) => withValues(w, tasks[v].out));
  // The full scan (which names the culprit) runs only when something is wrong.
  if (!finite) checkFinite(result, updates, context);
  return result;
}

/** Plain mean of the updates (every participant counts the same, whatever its data size). */
export function unweightedAverage(updates: readonly LabelledWeights[]): ModelWeights {
  return weightedAverage(updates.map((u) => ({ weights: u.weights, participantId: u.participantId, numExamples: 1 })));
}

/** Sort a small Float64Array in place (insertion sort: k is the number of participants, small). */
function sortSmall(a: Float64Array): void {
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/** Apply `reduce` to the sorted column of values at every coordinate. */
function coordinatewise(
  updates: readonly LabelledWeights[],
  context: string,
  reduce: (sorted: Float64Array) => number,
): ModelWeights {
  checkInputs(updates, context);
  const k = updates.length;
  const column = new Float64Array(k);
  const result = updates[0].weights.map((w, v) => {
    const out = new Float32Array(w.values.length);
    for (let c = 0; c < out.length; c++) {
      for (let i = 0; i < k; i++) column[i] = updates[i].weights[v].values[c];
      sortSmall(column);
      out[c] = reduce(column);
    }
    return withValues(w, out);
  });
  checkFinite(result, updates, context);
  return result;
}

/** Coordinate-wise median (Yin et al. 2018); the mean of the two middle values for an even count, like numpy. */
export function coordinateMedian(updates: readonly LabelledWeights[]): ModelWeights {
  return coordinatewise(updates, "coordinateMedian", (s) => {
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  });
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): drop the ⌊β·k⌋ smallest and largest values per
 * coordinate and average the rest (scipy.stats.trim_mean semantics, as Flower). 0 ≤ β < 0.5.
 */
export function trimmedMean(updates: readonly LabelledWeights[], beta: number): ModelWeights {
  if (!(beta >= 0 && beta < 0.5)) throw new Error(`trimmedMean: beta must be in [0, 0.5), got ${beta}`);
  const cut = Math.floor(beta * updates.length);
  return coordinatewise(updates, "trimmedMean", (s) => {
    let sum = 0;
    for (let i = cut; i < s.length - cut; i++) sum += s[i];
    return sum / (s.length - 2 * cut);
  });
}

/** The Krum scores and the indices it keeps (exposed for diagnostics and tests). */
export interface KrumSelection {
  /** Score of each update: sum of squared distances to its n − f − 2 nearest neighbours. */
  readonly scores: number[];
  /** Indices of the kept updates, best (lowest score) first. */
  readonly selected: number[];
}

/** Krum's selection step (Blanchard et al. 2017), as Flower: squared L2 distances, n − f − 2 neighbours (≥ 1). */
export function krumSelect(updates: readonly LabelledWeights[], numMalicious: number, numToKeep: number): KrumSelection {
  const context = "krum";
  if (!(Number.isInteger(numMalicious) && numMalicious >= 0)) {
    throw new Error(`${context}: numMalicious must be an integer ≥ 0, got ${numMalicious}`);
  }
  if (!(Number.isInteger(numToKeep) && numToKeep >= 0)) {
    throw new Error(`${context}: numToKeep must be an integer ≥ 0, got ${numToKeep}`);
  }
  checkInputs(updates, context);
  const n = updates.length;
  if (numToKeep > n) throw new Error(`${context}: numToKeep (${numToKeep}) exceeds the number of updates (${n})`);
  const d: number[][] = [];
  for (let i = 0; i < n; i++) d.push(new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = squaredL2Distance(updates[i].weights, updates[j].weights);
      d[i][j] = s;
      d[j][i] = s;
    }
  }
  const neighbours = Math.max(1, n - numMalicious - 2);
  const scores = d.map((row, i) => {
    const others = row.filter((_, j) => j !== i).sort((a, b) => a - b);
    let s = 0;
    for (let j = 0; j < Math.min(neighbours, others.length); j++) s += others[j];
    return s;
  });
  const order = scores.map((s, i) => ({ s, i })).sort((a, b) => a.s - b.s || a.i - b.i).map((x) => x.i);
  return { scores, selected: order.slice(0, Math.max(1, numToKeep)) };
}

/**
 * Krum / multi-Krum (Blanchard et al. 2017). `numToKeep` = 0: the single update with the lowest
 * score (returned as a copy); > 0: the weighted average of the `numToKeep` best (multi-Krum, as Flower).
 */
export function krum(updates: readonly WeightedWeights[], numMalicious: number, numToKeep: number): ModelWeights {
  const { selected } = krumSelect(updates, numMalicious, numToKeep);
  if (numToKeep === 0) return cloneWeights(updates[selected[0]].weights);
  checkNumExamples(updates, "krum");
  return weightedAverage(selected.map((i) => updates[i]));
}

// ---------------------------------------------------------------------------------------------
// Distances used by Krum and the privacy code; the general weights arithmetic (clone, add,
// subtract, scale, norms) lives in lib/model/weightOps.ts.
// ---------------------------------------------------------------------------------------------

/** Global L2 norm over all variables, accumulated in Float64 (same as `l2Norm`). */
export function weightsL2Norm(a: ModelWeights): number {
  return l2Norm(a);
}

/** Squared L2 distance ‖a − b‖² over all variables, in Float64. */
export function squaredL2Distance(a: ModelWeights, b: ModelWeights): number {
  assertSameLayout(a, b, "squaredL2Distance", "second operand");
  let s = 0;
  for (let v = 0; v < a.length; v++) {
    const x = a[v].values;
    const y = b[v].values;
    for (let k = 0; k < x.length; k++) {
      const d = x[k] - y[k];
      s += d * d;
    }
  }
  return s;
}

/** L2 distance ‖a − b‖. */
export function weightsL2Distance(a: ModelWeights, b: ModelWeights): number {
  return Math.sqrt(squaredL2Distance(a, b));
}
