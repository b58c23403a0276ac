/** Round-level numbers of a run (the rows whose participant is "server"): one metric as a series, or its value at one round. */
import type { Table } from "../federation/history";
import { SERVER } from "../federation/history";
import { asHistoryTable, labelColumns } from "./historyInput";
import type { HistoryInput } from "./historyInput";

/** The server rows of `metric` (e.g. "globalAccuracy", "bytesUp", "dpEpsilon") ordered by labels then round; columns: the labels, round, metric, value. */
export function serverMetric(history: HistoryInput, metric: string): Table {
  const t = asHistoryTable(history, "serverMetric");
  const labels = labelColumns(t);
  return t
    .params({ server: SERVER, metric })
    .filter((d: { participant: string; metric: string }, $: { server: string; metric: string }) => d.participant === $.server && d.metric === $.metric)
    .select(...labels, "round", "metric", "value")
    .orderby(...labels, "round");
}

/**
 * The value of server metric `metric` at `round` ("last": the last round it was recorded in). The
 * history must hold one run: with several labelled runs, filter one first. Throws, naming the
 * metric, the round and the rounds recorded, when there is no such value.
 */
export function serverMetricAt(history: HistoryInput, metric: string, round: number | "last"): number {
  const series = serverMetric(history, metric);
  const labels = labelColumns(series).filter((c) => c !== "metric");
  const rounds = series.array("round") as number[];
  if (rounds.length === 0) throw new Error(`serverMetricAt: the history has no server metric "${metric}"`);
  const at = round === "last" ? Math.max(...rounds) : round;
  const hits = series.params({ at }).filter((d: { round: number }, $: { at: number }) => d.round === $.at);
  if (hits.numRows() === 0) throw new Error(`serverMetricAt: no server "${metric}" at round ${at}; recorded at rounds ${[...new Set(rounds)].join(", ")}`);
  if (hits.numRows() > 1) {
    throw new Error(`serverMetricAt: ${hits.numRows()} server "${metric}" values at round ${at} (several runs${labels.length > 0 ? `, labels ${labels.join(", ")}` : ""}); filter one run first`);
  }
  return hits.get("value", 0) as number;
}
