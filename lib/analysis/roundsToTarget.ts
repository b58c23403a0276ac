/**
 * Rounds to a target accuracy (McMahan et al. 2017's measure of communication cost): the first
 * round at which a per-round series reaches the target, per labelled run. A run that never reaches
 * it gets NaN and `reached = false`, never its last round: a censored figure is not a measurement.
 */
import * as aq from "arquero";
import type { Table } from "../federation/history";
import { requireColumns } from "./historyInput";

/** One row per run of `series` (label columns, round, value — e.g. `serverMetric`'s output): the labels, rounds (first round with value ≥ target, NaN if never), reached, lastRound. */
export function roundsToTarget(series: Table, target: number): Table {
  if (!Number.isFinite(target)) throw new Error(`roundsToTarget: target must be a finite number, got ${target}`);
  requireColumns(series, ["round", "value"], "roundsToTarget");
  const labels = series.columnNames().filter((c) => c !== "round" && c !== "value" && c !== "metric");
  const runs = new Map<string, { key: Record<string, unknown>; rounds: number; lastRound: number }>();
  for (const r of series.objects() as Array<Record<string, unknown> & { round: number; value: number }>) {
    const key = Object.fromEntries(labels.map((c) => [c, r[c]]));
    const id = JSON.stringify(key);
    const run = runs.get(id) ?? { key, rounds: NaN, lastRound: -Infinity };
    if ((Number.isNaN(run.rounds) || r.round < run.rounds) && r.value >= target) run.rounds = r.round;
    run.lastRound = Math.max(run.lastRound, r.round);
    runs.set(id, run);
  }
  return aq.from([...runs.values()].map((r) => ({ ...r.key, rounds: r.rounds, reached: !Number.isNaN(r.rounds), lastRound: r.lastRound })));
}
