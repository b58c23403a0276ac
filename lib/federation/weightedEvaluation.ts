/**
 * The default way evaluations become server metrics: means weighted by the examples behind each
 * number, skipping empty splits (and NaN losses of empty splits). `aggregateEvaluate` of a strategy
 * that does not define its own, and the personal-model summary, are this.
 */
import type { EvaluateResult } from "./types";

/** Mean weighted by example counts, skipping empty splits; NaN when nothing counted. */
export class WeightedMean {
  private sum = 0;
  private weight = 0;

  /** Add `value` with weight `count` (ignored if count ≤ 0 or value is NaN). */
  add(value: number, count: number): void {
    if (count > 0 && !Number.isNaN(value)) {
      this.sum += value * count;
      this.weight += count;
    }
  }

  /** The mean so far. */
  get value(): number {
    return this.weight > 0 ? this.sum / this.weight : NaN;
  }
}

/** `{prefix}Accuracy`, `{prefix}Loss` (test split) and `{prefix}ValLoss` (validation split), each weighted by its split's size. */
export function weightedEvaluation(results: readonly EvaluateResult[], prefix = "global"): Record<string, number> {
  const acc = new WeightedMean();
  const loss = new WeightedMean();
  const valLoss = new WeightedMean();
  for (const r of results) {
    acc.add(r.accuracy, r.numExamples);
    loss.add(r.loss, r.numExamples);
    valLoss.add(r.valLoss, r.numValExamples);
  }
  return { [`${prefix}Accuracy`]: acc.value, [`${prefix}Loss`]: loss.value, [`${prefix}ValLoss`]: valLoss.value };
}
