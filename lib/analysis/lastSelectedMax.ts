/**
 * The three figures of a series side by side, one row per (labels, participant, scope): the last
 * value, the value selected by validation (the result to report) and the maximum over rounds (the
 * optimistic figure, column `maxOptimistic`). Built from `lastValues`, `selectedByValidation` and
 * `maxOverRounds`, so all three follow their single definitions.
 */
import type { Table } from "../federation/history";
import { asHistoryTable, HistoryInput, labelColumns, tableOf } from "./historyInput";
import { lastValues } from "./lastValue";
import { maxOverRounds } from "./maxOverRounds";
import { selectedByValidation, SelectedByValidationOptions } from "./selectedByValidation";

/**
 * Columns: the labels, participant, scope, metric, last, lastRound, selected, selectedRound,
 * maxOptimistic, maxRound; one row per series that has `metric` (default "accuracy"), in order of
 * first appearance.
 */
export function lastSelectedMax(history: HistoryInput, options: SelectedByValidationOptions = {}): Table {
  const metric = options.metric ?? "accuracy";
  const t = asHistoryTable(history, "lastSelectedMax");
  const labels = labelColumns(t);
  const keys = [...labels, "participant", "scope"];
  const id = (r: Record<string, unknown>): string => JSON.stringify(keys.map((k) => r[k]));
  const index = (table: Table): Map<string, { round: number; value: number }> =>
    new Map((table.objects() as Array<Record<string, unknown>>).map((r) => [id(r), { round: r.round as number, value: r.value as number }]));
  const selected = index(selectedByValidation(t, options));
  const max = index(maxOverRounds(t, { metric }));
  const rows = (lastValues(t, { metric }).objects() as Array<Record<string, unknown>>).map((r) => {
    const s = selected.get(id(r)) ?? { round: NaN, value: NaN };
    const m = max.get(id(r)) as { round: number; value: number };
    return { ...r, last: r.value, lastRound: r.round, selected: s.value, selectedRound: s.round, maxOptimistic: m.value, maxRound: m.round };
  });
  return tableOf([...keys, "metric", "last", "lastRound", "selected", "selectedRound", "maxOptimistic", "maxRound"], rows);
}
