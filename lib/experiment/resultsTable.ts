/**
 * The final table of a run, one row per participant: test accuracy of the local-only baseline
 * (phase 1), of the global model and of the personal model, each at the last round and at the
 * best round. "Best" is chosen honestly — the round with the lowest *validation* loss for that
 * participant and model — and the test accuracy of that round is reported; picking the round with
 * the highest test accuracy would report a number tuned on the test set.
 */
import * as aq from "arquero";
import type { HistoryRow } from "../federation/history";

/** Phase-1 outcome of one participant. */
export interface LocalPhaseResult {
  readonly participant: string;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly valLoss: number;
  /** Epoch whose weights were kept (0 = the starting weights). */
  readonly bestEpoch: number;
  /** Epochs run before early stopping. */
  readonly epochs: number;
}

/** One row of the final table. */
export interface ParticipantResult {
  readonly participant: string;
  readonly trainSamples: number;
  /** Phase-1 test accuracy (NaN when phase 1 did not run). */
  readonly localOnly: number;
  readonly globalLast: number;
  readonly globalBest: number;
  readonly globalBestRound: number;
  readonly personalLast: number;
  readonly personalBest: number;
  readonly personalBestRound: number;
}

/** Test accuracy at the last round and at the round of lowest validation loss, for one participant and scope. */
export function lastAndBest(rows: readonly HistoryRow[], participant: string, scope: "global" | "personal"): { last: number; best: number; bestRound: number } {
  const acc = new Map<number, number>();
  const val = new Map<number, number>();
  for (const r of rows) {
    if (r.participant !== participant || r.scope !== scope) continue;
    if (r.metric === "accuracy") acc.set(r.round, r.value);
    else if (r.metric === "valLoss") val.set(r.round, r.value);
  }
  // Round 0 is the starting model (before any federated training); "best" is chosen among trained rounds when there are any.
  const rounds = [...acc.keys()].sort((a, b) => a - b);
  if (rounds.length === 0) return { last: NaN, best: NaN, bestRound: NaN };
  const last = acc.get(rounds[rounds.length - 1]) as number;
  const candidates = rounds.some((r) => r > 0) ? rounds.filter((r) => r > 0) : rounds;
  let bestRound = candidates[0];
  let bestVal = Infinity;
  for (const r of candidates) {
    const v = val.get(r);
    if (v !== undefined && v < bestVal) {
      bestVal = v;
      bestRound = r;
    }
  }
  return { last, best: acc.get(bestRound) as number, bestRound };
}

/** The final per-participant rows, in participant order, plus a "mean" row (unweighted over participants). */
export function participantResults(
  rows: readonly HistoryRow[],
  participants: ReadonlyArray<{ readonly id: string; readonly trainSamples: number }>,
  local: readonly LocalPhaseResult[] = [],
): ParticipantResult[] {
  const localBy = new Map(local.map((l) => [l.participant, l] as const));
  const out: ParticipantResult[] = participants.map((p) => {
    const g = lastAndBest(rows, p.id, "global");
    const q = lastAndBest(rows, p.id, "personal");
    return {
      participant: p.id,
      trainSamples: p.trainSamples,
      localOnly: localBy.get(p.id)?.testAccuracy ?? NaN,
      globalLast: g.last,
      globalBest: g.best,
      globalBestRound: g.bestRound,
      personalLast: q.last,
      personalBest: q.best,
      personalBestRound: q.bestRound,
    };
  });
  const mean = (k: keyof ParticipantResult): number => out.reduce((a, r) => a + (r[k] as number), 0) / Math.max(1, out.length);
  out.push({
    participant: "mean",
    trainSamples: out.reduce((a, r) => a + r.trainSamples, 0),
    localOnly: mean("localOnly"),
    globalLast: mean("globalLast"),
    globalBest: mean("globalBest"),
    globalBestRound: NaN,
    personalLast: mean("personalLast"),
    personalBest: mean("personalBest"),
    personalBestRound: NaN,
  });
  return out;
}

/** The rows as an arquero table. */
export function resultsTable(results: readonly ParticipantResult[]): aq.ColumnTable {
  return aq.from(results.map((r) => ({ ...r })));
}

/** Column headers of the printed table. */
const HEADERS = ["participant", "train", "local-only", "global last", "global best (round)", "personal last", "personal best (round)"];

/** The cells of the printed table (accuracies as percentages). */
export function resultsCells(results: readonly ParticipantResult[]): string[][] {
  const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–");
  const withRound = (v: number, r: number): string => (Number.isFinite(r) ? `${pct(v)} (${r})` : pct(v));
  return results.map((r) => [
    r.participant,
    String(r.trainSamples),
    pct(r.localOnly),
    pct(r.globalLast),
    withRound(r.globalBest, r.globalBestRound),
    pct(r.personalLast),
    withRound(r.personalBest, r.personalBestRound),
  ]);
}

/** The table as aligned text for a terminal (test accuracy; best = round of lowest validation loss). */
export function formatResultsTable(results: readonly ParticipantResult[]): string {
  const cells = [HEADERS, ...resultsCells(results)];
  const widths = HEADERS.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const line = (row: string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const rule = widths.map((w) => "─".repeat(w)).join("  ");
  const body = cells.slice(1).map(line);
  // A rule above the mean row.
  if (body.length > 1) body.splice(body.length - 1, 0, rule);
  return [line(HEADERS), rule, ...body].join("\n");
}

/** Column headers (for HTML). */
export function resultsHeaders(): string[] {
  return HEADERS.slice();
}
