/**
 * A metric against simulated wall-clock time. The history's server metric "simulatedSeconds" is
 * each round's duration on the simulated devices (the slowest participant the round waited for);
 * the elapsed time at round r is the sum of the durations recorded at rounds ≤ r (round 0, the
 * evaluation of the starting model, records none and sits at time 0).
 */
import type { Table } from "../federation/history";
import { SERVER } from "../federation/history";
import { asHistoryTable, groupSeries, HistoryInput, labelColumns, tableOf } from "./historyInput";

/** Options of `simulatedTimeline`. */
export interface SimulatedTimelineOptions {
  /** The server metric to put on the timeline (default "globalAccuracy"). */
  readonly metric?: string;
}

/**
 * One row per (labels, round) where the server metric was recorded: the labels, round,
 * elapsedSeconds (cumulative simulated seconds up to and including that round, over every round
 * that recorded a duration, evaluated or not), metric, value. Rounds without a duration add 0 s.
 */
export function simulatedTimeline(history: HistoryInput, options: SimulatedTimelineOptions = {}): Table {
  const metric = options.metric ?? "globalAccuracy";
  const t = asHistoryTable(history, "simulatedTimeline")
    .params({ server: SERVER, m: metric })
    .filter((d: { participant: string; metric: string }, $: { server: string; m: string }) => d.participant === $.server && (d.metric === $.m || d.metric === "simulatedSeconds"));
  const labels = labelColumns(t);
  const out: Array<Record<string, unknown>> = [];
  for (const s of groupSeries(t, labels)) {
    const seconds = new Map<number, number>();
    const value = new Map<number, number>();
    for (const r of s.rows) (r.metric === metric ? value : seconds).set(r.round, r.value);
    if (metric === "simulatedSeconds") for (const [r, v] of seconds) value.set(r, v);
    const rounds = [...new Set([...seconds.keys(), ...value.keys()])].sort((a, b) => a - b);
    let elapsed = 0;
    for (const r of rounds) {
      elapsed += seconds.get(r) ?? 0;
      if (value.has(r)) out.push({ ...s.key, round: r, elapsedSeconds: elapsed, metric, value: value.get(r) });
    }
  }
  return tableOf([...labels, "round", "elapsedSeconds", "metric", "value"], out);
}
