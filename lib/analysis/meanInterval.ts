/**
 * Mean and confidence interval across repetitions (seeds, folds): for n values with sample
 * standard deviation s, mean ± t(level, n−1) · s/√n, with Student's t critical value, which is
 * right for small n (with n = 3 seeds the 95 % factor is 4.30, not the normal 1.96).
 */
import type { Table } from "../federation/history";
import { groupSeries, requireColumns, tableOf } from "./historyInput";
import { studentTCriticalValue } from "./studentT";

/** Options of `meanInterval`. */
export interface MeanIntervalOptions {
  /** The column averaged (default "value"). */
  readonly value?: string;
  /** Columns that define the groups (default: none, one group). */
  readonly by?: readonly string[];
  /** Confidence level (default 0.95). */
  readonly level?: number;
}

/**
 * One row per group: the `by` columns, n, mean, std (sample, n−1), halfWidth = t·std/√n, lo, hi (the
 * interval's bounds, named as in summary.csv). With n = 1, std, halfWidth, lo and hi are NaN (one value gives no interval); a NaN value makes
 * its group's figures NaN (a diverged repetition is not silently dropped).
 */
export function meanInterval(table: Table, options: MeanIntervalOptions = {}): Table {
  const value = options.value ?? "value";
  const by = options.by ?? [];
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`meanInterval: level must be in (0, 1), got ${level}`);
  requireColumns(table, [value, ...by], "meanInterval");
  const out: Array<Record<string, unknown>> = [];
  // groupSeries sorts by a "round" column when present; order does not matter for a mean.
  for (const g of groupSeries(table, by)) {
    const xs = g.rows.map((r) => {
      const v = r[value];
      if (typeof v !== "number") throw new Error(`meanInterval: column "${value}" must hold numbers, got ${JSON.stringify(v)}`);
      return v;
    });
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : NaN;
    const halfWidth = n > 1 ? (studentTCriticalValue(level, n - 1) * std) / Math.sqrt(n) : NaN;
    out.push({ ...g.key, n, mean, std, halfWidth, lo: mean - halfWidth, hi: mean + halfWidth });
  }
  return tableOf([...by, "n", "mean", "std", "halfWidth", "lo", "hi"], out);
}
