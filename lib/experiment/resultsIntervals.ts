/**
 * The final table of a multi-seed run: for each participant (and the "mean" row) and each figure of
 * the single-run table (local-only, global last/best, personal last/best), the mean over the
 * repetitions and its 95 % interval (Student t, `meanInterval`). One seed's table is
 * `resultsTable`; this is the same table with every cell a mean ± half-width.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { meanInterval } from "../analysis/meanInterval";
import type { ParticipantResult } from "./resultsTable";
import { alignedTable, MEAN_ROW, summaryRowCount } from "./resultsTable";

/** The figures of a `ParticipantResult` that get an interval, in table order. */
export const INTERVAL_MEASURES = ["localOnly", "globalLast", "globalBest", "personalLast", "personalBest"] as const;
/** One of `INTERVAL_MEASURES`. */
export type IntervalMeasure = (typeof INTERVAL_MEASURES)[number];

/** Printed header of each measure. */
const MEASURE_HEADERS: Record<IntervalMeasure, string> = {
  localOnly: "local-only",
  globalLast: "global last",
  globalBest: "global best",
  personalLast: "personal last",
  personalBest: "personal best",
};

/** One row of the interval table: a participant's figure over the repetitions. */
export interface ResultInterval {
  readonly participant: string;
  readonly measure: IntervalMeasure;
  /** Number of repetitions. */
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1). */
  readonly std: number;
  /** t(0.975, n−1) · std / √n (NaN for n = 1). */
  readonly halfWidth: number;
  /** mean − halfWidth, mean + halfWidth. */
  readonly lo: number;
  readonly hi: number;
}

/**
 * Mean ± 95 % interval of every figure, per participant (in the order of the first repetition's
 * table) and measure. `perSeed` holds each repetition's final table; every table must list the
 * same participants (the "mean" row included).
 */
export function resultIntervals(perSeed: ReadonlyArray<readonly ParticipantResult[]>, level = 0.95): ResultInterval[] {
  if (perSeed.length === 0) throw new Error("resultIntervals: no repetitions");
  const order = perSeed[0].map((r) => r.participant);
  perSeed.forEach((rows, k) => {
    const ids = rows.map((r) => r.participant);
    if (ids.join("\u0000") !== order.join("\u0000")) {
      throw new Error(`resultIntervals: repetition ${k} lists participants ${ids.join(", ")}, the first lists ${order.join(", ")}`);
    }
  });
  const long: Array<{ participant: string; measure: string; value: number }> = [];
  for (const rows of perSeed) for (const r of rows) for (const m of INTERVAL_MEASURES) long.push({ participant: r.participant, measure: m, value: r[m] });
  const t = meanInterval(aq.from(long), { by: ["participant", "measure"], level });
  const byKey = new Map<string, ResultInterval>();
  for (const g of t.objects() as Array<{ participant: string; measure: IntervalMeasure; n: number; mean: number; std: number; halfWidth: number; lo: number; hi: number }>) {
    byKey.set(`${g.participant}\u0000${g.measure}`, { participant: g.participant, measure: g.measure, n: g.n, mean: g.mean, std: g.std, halfWidth: g.halfWidth, lo: g.lo, hi: g.hi });
  }
  return order.flatMap((p) => INTERVAL_MEASURES.map((m) => byKey.get(`${p}\u0000${m}`) as ResultInterval));
}

/** The intervals as an arquero table (participant, measure, mean, lo, hi, n, std, halfWidth): `summary.csv` of a multi-seed run. */
export function resultIntervalsTable(intervals: readonly ResultInterval[]): ColumnTable {
  return aq.from(intervals.map((r) => ({ participant: r.participant, measure: r.measure, mean: r.mean, lo: r.lo, hi: r.hi, n: r.n, std: r.std, halfWidth: r.halfWidth })));
}

/** A cell "88.1 ± 2.3%" (percent; "–" when the figure is missing, "88.1%" when n = 1). */
export function intervalCell(r: ResultInterval | undefined): string {
  if (r === undefined || !Number.isFinite(r.mean)) return "–";
  return Number.isFinite(r.halfWidth) ? `${(100 * r.mean).toFixed(1)} ± ${(100 * r.halfWidth).toFixed(1)}%` : `${(100 * r.mean).toFixed(1)}%`;
}

/** Column headers of the printed interval table. */
export function intervalHeaders(): string[] {
  return ["participant", ...INTERVAL_MEASURES.map((m) => MEASURE_HEADERS[m])];
}

/** The cells of the interval table, one row per participant (the "mean" row last). */
export function intervalCells(intervals: readonly ResultInterval[]): string[][] {
  const participants = [...new Set(intervals.map((r) => r.participant))];
  return participants.map((p) => [p, ...INTERVAL_MEASURES.map((m) => intervalCell(intervals.find((r) => r.participant === p && r.measure === m)))]);
}

/** The interval table as aligned text for a terminal, with a rule above the "mean" row (and the central row after it). */
export function formatIntervalTable(intervals: readonly ResultInterval[]): string {
  const cells = intervalCells(intervals);
  return alignedTable(intervalHeaders(), cells, summaryRowCount(cells.map((row) => row[0])));
}

/**
 * The paired difference `a − b` of two figures of the "mean" row over the repetitions (each seed's
 * difference, then mean ± 95 % interval): the honest way to ask whether one model beats another,
 * since both were measured on the same seeds. NaN figures give a NaN difference.
 */
export function pairedMeanDifference(perSeed: ReadonlyArray<readonly ParticipantResult[]>, a: IntervalMeasure, b: IntervalMeasure, level = 0.95): ResultInterval {
  const diffs = perSeed.map((rows, k) => {
    const mean = rows.find((r) => r.participant === MEAN_ROW);
    if (mean === undefined) throw new Error(`pairedMeanDifference: repetition ${k} has no "${MEAN_ROW}" row`);
    return { value: mean[a] - mean[b] };
  });
  const g = meanInterval(aq.from(diffs), { level }).objects()[0] as { n: number; mean: number; std: number; halfWidth: number; lo: number; hi: number };
  return { participant: "mean", measure: a, n: g.n, mean: g.mean, std: g.std, halfWidth: g.halfWidth, lo: g.lo, hi: g.hi };
}

/** "−3.8 ± 1.2 points (95 % interval −5.0 … −2.6)" for a paired difference. */
export function formatDifference(d: ResultInterval): string {
  const pts = (v: number): string => `${v >= 0 ? "+" : "−"}${Math.abs(100 * v).toFixed(1)}`;
  if (!Number.isFinite(d.mean)) return "–";
  if (!Number.isFinite(d.halfWidth)) return `${pts(d.mean)} points`;
  const verdict = d.lo > 0 ? "above zero" : d.hi < 0 ? "below zero" : "contains zero";
  return `${pts(d.mean)} ± ${(100 * d.halfWidth).toFixed(1)} points (95 % interval ${pts(d.lo)} … ${pts(d.hi)}, ${verdict})`;
}
