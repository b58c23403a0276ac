/**
 * The metrics history of a federation as a long table: one row per (round, participant, scope,
 * metric). Scopes: "global" (the global model on the participant's splits), "personal" (its
 * personal model), "fit" (its local training in that round), "server" (round-level numbers; the
 * participant column is "server"). Tables leave the library as arquero tables.
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

/** Default direction: metrics whose name contains "loss" (or "Seconds", "bytes", "failed") are better when lower. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|seconds|bytes|failed/i.test(metric);
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

/** One summary row: final and best values of a (participant, scope, metric) series. */
export interface SummaryRow {
  readonly participant: string;
  readonly scope: HistoryScope;
  readonly metric: string;
  /** Value at the last round where it was recorded. */
  readonly final: number;
  /** That round. */
  readonly finalRound: number;
  /** Best value (min for lower-is-better metrics, else max), NaNs ignored. */
  readonly best: number;
  /** First round reaching the best value. */
  readonly bestRound: number;
}

/** Final and best value per participant, scope and metric, as an arquero table. */
export function summarise(history: Table | readonly HistoryRow[], options: { lowerIsBetter?: (metric: string) => boolean } = {}): Table {
  const lower = options.lowerIsBetter ?? lowerIsBetter;
  const groups = new Map<string, HistoryRow[]>();
  for (const r of historyRows(history)) {
    const key = `${r.participant}\u0000${r.scope}\u0000${r.metric}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: SummaryRow[] = [];
  for (const rows of groups.values()) {
    rows.sort((a, b) => a.round - b.round);
    const last = rows[rows.length - 1];
    const down = lower(last.metric);
    let best = NaN;
    let bestRound = NaN;
    for (const r of rows) {
      if (Number.isNaN(r.value)) continue;
      if (Number.isNaN(best) || (down ? r.value < best : r.value > best)) {
        best = r.value;
        bestRound = r.round;
      }
    }
    out.push({ participant: last.participant, scope: last.scope, metric: last.metric, final: last.value, finalRound: last.round, best, bestRound });
  }
  return aq.from(out);
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

/**
 * Mean ± std across participants of their final (or best) values, per scope and metric (server
 * rows excluded), as an arquero table with columns scope, metric, mean, std, count.
 */
export function meanStd(history: Table | readonly HistoryRow[], options: { of?: "final" | "best" } = {}): Table {
  const which = options.of ?? "final";
  const summary = summarise(history).objects() as unknown as SummaryRow[];
  const groups = new Map<string, { scope: HistoryScope; metric: string; values: number[] }>();
  for (const s of summary) {
    if (s.participant === SERVER) continue;
    const key = `${s.scope}\u0000${s.metric}`;
    const g = groups.get(key) ?? { scope: s.scope, metric: s.metric, values: [] };
    g.values.push(which === "final" ? s.final : s.best);
    groups.set(key, g);
  }
  return aq.from([...groups.values()].map((g) => ({ scope: g.scope, metric: g.metric, ...meanAndStd(g.values) })));
}

/** The series of one server metric, ordered by round (e.g. for a live plot). */
export function serverSeries(history: Table | readonly HistoryRow[], metric: string): { round: number[]; value: number[] } {
  const rows = historyRows(history)
    .filter((r) => r.participant === SERVER && r.metric === metric)
    .sort((a, b) => a.round - b.round);
  return { round: rows.map((r) => r.round), value: rows.map((r) => r.value) };
}
