/** The last value of every series: what a participant's model scores after the final round it was evaluated in. */
import type { Table } from "../federation/history";
import type { HistoryInput } from "./historyInput";
import { SelectOptions, selectPerSeries } from "./roundSelection";

/**
 * The value at the last recorded round of each (labels, participant, scope, metric) series, as a
 * table with the history's label columns and participant, scope, metric, round, value, selection
 * ("last"). A NaN at the last round is reported as NaN (it is what the run ended with).
 */
export function lastValues(history: HistoryInput, options: SelectOptions = {}): Table {
  return selectPerSeries(history, "lastValues", "last", options, (rows) => {
    const last = rows[rows.length - 1];
    return { round: last.round, value: last.value };
  });
}
