/**
 * Every series of a history in one table: its last value and its value selected by validation
 * (the one definition of "best", see selectedByValidation.ts), and the mean ± sample std of either
 * across participants. Built from `lastSelectedMax`, so nothing here decides what "best" means.
 */
import * as aq from "arquero";
import type { Table } from "../federation/history";
import { meanAndStd, SERVER } from "../federation/history";
import { asHistoryTable, HistoryInput, labelColumns, tableOf } from "./historyInput";
import { lastSelectedMax } from "./lastSelectedMax";

/**
 * One row per (labels, participant, scope, metric), in order of first appearance by metric:
 * `final`/`finalRound` (the last recorded value) and `selected`/`selectedRound` (the value at the
 * round with the lowest validation loss of the same participant and scope; NaN where that series
 * has no validation loss, e.g. server rows — use `selectedByValidation` with `validationMetric:
 * "globalValLoss"` for the server's figures).
 */
export function summarise(history: HistoryInput): Table {
  const t = asHistoryTable(history, "summarise");
  const keys = [...labelColumns(t), "participant", "scope", "metric"];
  const metrics = [...new Set(t.array("metric") as string[])];
  const rows = metrics.flatMap((metric) =>
    (lastSelectedMax(t, { metric }).objects() as Array<Record<string, unknown>>).map((r) => ({ ...r, final: r.last, finalRound: r.lastRound })),
  );
  return tableOf([...keys, "final", "finalRound", "selected", "selectedRound"], rows);
}

/**
 * Mean ± sample std across participants of their final (or selected-by-validation) values, per
 * scope and metric (server rows excluded; NaNs ignored), with columns scope, metric, mean, std, count.
 */
export function meanStd(history: HistoryInput, options: { of?: "final" | "selected" } = {}): Table {
  const which = options.of ?? "final";
  const groups = new Map<string, { scope: string; metric: string; values: number[] }>();
  for (const s of summarise(history).objects() as Array<Record<string, unknown>>) {
    if (s.participant === SERVER) continue;
    const key = `${String(s.scope)}\u0000${String(s.metric)}`;
    const g = groups.get(key) ?? { scope: s.scope as string, metric: s.metric as string, values: [] };
    g.values.push(s[which] as number);
    groups.set(key, g);
  }
  return aq.from([...groups.values()].map((g) => ({ scope: g.scope, metric: g.metric, ...meanAndStd(g.values) })));
}
