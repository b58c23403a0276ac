/**
 * The metrics history of a federation as a long table: one row per (round, participant, scope,
 * metric). Scopes: "global" (the global model on the participant's splits), "personal" (its
 * personal model), "fit" (its local training in that round), "server" (round-level numbers; the
 * participant column is "server"). Tables leave the library as arquero tables; last, selected-by-
 * validation and summaries of a history are lib/analysis verbs (one definition of "best").
 */
import * as aq from "arquero";

/** Where a number comes from. */
export type HistoryScope = "global" | "personal" | "fit" | "server";

/** The participant value of server-level rows. */
export const SERVER = "server";

/** One history row. */
export interface HistoryRow {
  /** Round (0 = before training). */
  readonly round: number;
  /** Participant id, or "server". */
  readonly participant: string;
  /** Which model / level the number describes. */
  readonly scope: HistoryScope;
  /** Metric name, e.g. "accuracy", "loss", "valLoss", "bytesUp". */
  readonly metric: string;
  /** The value. */
  readonly value: number;
}

/** The arquero table type returned by fedtune. */
export type Table = ReturnType<typeof aq.from>;

/** Rows → arquero table with columns round, participant, scope, metric, value (empty table if no rows). */
export function historyTable(rows: readonly HistoryRow[]): Table {
  return aq.table({
    round: rows.map((r) => r.round),
    participant: rows.map((r) => r.participant),
    scope: rows.map((r) => r.scope),
    metric: rows.map((r) => r.metric),
    value: rows.map((r) => r.value),
  });
}

/** A table (or plain rows) as plain rows, validating the columns. */
export function historyRows(history: Table | readonly HistoryRow[]): HistoryRow[] {
  if (Array.isArray(history)) return [...(history as readonly HistoryRow[])];
  const t = history as Table;
  for (const c of ["round", "participant", "scope", "metric", "value"]) {
    if (!t.columnNames().includes(c)) throw new Error(`history: table lacks column "${c}"; has ${t.columnNames().join(", ")}`);
  }
  return t.objects() as unknown as HistoryRow[];
}

/** Mean and sample standard deviation of a list (NaNs ignored); std is 0 for one value. */
export function meanAndStd(values: readonly number[]): { mean: number; std: number; count: number } {
  const v = values.filter((x) => !Number.isNaN(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, count: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1)) : 0;
  return { mean, std, count: n };
}

/** The series of one server metric, ordered by round (e.g. for a live plot). */
export function serverSeries(history: Table | readonly HistoryRow[], metric: string): { round: number[]; value: number[] } {
  const rows = historyRows(history)
    .filter((r) => r.participant === SERVER && r.metric === metric)
    .sort((a, b) => a.round - b.round);
  return { round: rows.map((r) => r.round), value: rows.map((r) => r.value) };
}
