/**
 * The highest value of each series over its rounds. It is an optimistic figure, not a result: when
 * the metric is a test accuracy, choosing the round by that same number tunes the choice on the
 * test set. Report `selectedByValidation` as the result and this only to show the gap.
 */
import type { Table } from "../federation/history";
import type { HistoryInput } from "./historyInput";
import { SelectOptions, selectPerSeries } from "./roundSelection";

/**
 * The maximum over rounds of each (labels, participant, scope, metric) series (NaNs ignored; ties →
 * earliest round; a series of NaNs gives round NaN, value NaN), with selection "max (optimistic)".
 * Columns: the labels, participant, scope, metric, round, value, selection.
 */
export function maxOverRounds(history: HistoryInput, options: SelectOptions = {}): Table {
  return selectPerSeries(history, "maxOverRounds", "max (optimistic)", options, (rows) => {
    let best = { round: NaN, value: NaN };
    for (const r of rows) if (r.value > best.value || (Number.isNaN(best.value) && !Number.isNaN(r.value))) best = { round: r.round, value: r.value };
    return best;
  });
}
