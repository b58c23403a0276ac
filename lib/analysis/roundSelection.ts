/**
 * The shared shape of the three ways to pick one value out of a per-round series — the last round,
 * the round selected by validation, the maximum over rounds — so that their results concatenate
 * and compare. One row per (labels, participant, scope, metric): the chosen round, its value, and
 * a `selection` column saying how it was chosen.
 */
import type { Table } from "../federation/history";
import { groupSeries, HistoryInput, labelColumns, asHistoryTable, LabelledRow, tableOf } from "./historyInput";

/** How a value was picked out of its rounds. "max (optimistic)" chose the round by the very number it reports. */
export type Selection = "last" | "selected by validation" | "max (optimistic)";

/** Options shared by the selecting verbs. */
export interface SelectOptions {
  /** Keep only this metric (default: every metric in the table). */
  readonly metric?: string;
}

/** Group `history` by labels, participant, scope and metric, pick one row per series with `pick`, and tabulate. */
export function selectPerSeries(
  history: HistoryInput,
  verb: string,
  selection: Selection,
  options: SelectOptions,
  pick: (rows: readonly LabelledRow[]) => { round: number; value: number } | undefined,
): Table {
  let t = asHistoryTable(history, verb);
  const metric = options.metric;
  if (metric !== undefined) t = t.params({ metric }).filter((d: { metric: string }, $: { metric: string }) => d.metric === $.metric);
  const labels = labelColumns(t);
  const keys = [...labels, "participant", "scope", "metric"];
  const out: Array<Record<string, unknown>> = [];
  for (const s of groupSeries(t, keys)) {
    const chosen = pick(s.rows);
    if (chosen !== undefined) out.push({ ...s.key, round: chosen.round, value: chosen.value, selection });
  }
  return tableOf([...keys, "round", "value", "selection"], out);
}
