/**
 * The one definition of "best" in fedtune: **the round with the lowest validation loss, round 0
 * included, ties → the earliest round, rounds whose validation loss is NaN (or missing) never
 * chosen**; the reported figure is the metric (e.g. test accuracy) of that same participant, model
 * and round. Round 0 (the starting model, before any federated training) is a candidate like any
 * other: if training never lowered the validation loss, the honest choice is the starting model.
 * Only rounds where both the metric and the validation loss were recorded are candidates (with
 * `evaluation.every`, personal models are evaluated on some rounds only).
 */
import type { Table } from "../federation/history";
import { improvesValidation } from "../federation/validationRule";
import { asHistoryTable, assertOneValuePerRound, groupSeries, HistoryInput, labelColumns, roundValues, tableOf } from "./historyInput";

export { improvesValidation } from "../federation/validationRule";

/** Options of `selectedByValidation`. */
export interface SelectedByValidationOptions {
  /** The metric to report at the selected round (default "accuracy"; the server's is "globalAccuracy"). */
  readonly metric?: string;
  /** The validation metric that selects the round (default "valLoss"; the server's is "globalValLoss"). */
  readonly validationMetric?: string;
}

/**
 * For each (labels, participant, scope) series that has `metric`, the value of `metric` at the round
 * chosen by the rule in this file's comment. Columns: the labels, participant, scope, metric,
 * round, value, selection ("selected by validation"); round and value are NaN when no round has a
 * validation loss (e.g. no validation split): then nothing can be selected honestly.
 */
export function selectedByValidation(history: HistoryInput, options: SelectedByValidationOptions = {}): Table {
  const metric = options.metric ?? "accuracy";
  const validationMetric = options.validationMetric ?? "valLoss";
  const t = asHistoryTable(history, "selectedByValidation")
    .params({ m: metric, v: validationMetric })
    .filter((d: { metric: string }, $: { m: string; v: string }) => d.metric === $.m || d.metric === $.v);
  const labels = labelColumns(t);
  const keys = [...labels, "participant", "scope"];
  const out: Array<Record<string, unknown>> = [];
  for (const s of groupSeries(t, keys)) {
    assertOneValuePerRound(s, "selectedByValidation");
    const value = roundValues(s, metric);
    if (value.size === 0) continue;
    let round = NaN;
    let best = NaN;
    for (const [r, v] of roundValues(s, validationMetric)) {
      if (value.has(r) && improvesValidation(v, best)) {
        best = v;
        round = r;
      }
    }
    out.push({ ...s.key, metric, round, value: Number.isNaN(round) ? NaN : value.get(round), selection: "selected by validation" });
  }
  return tableOf([...keys, "metric", "round", "value", "selection"], out);
}
