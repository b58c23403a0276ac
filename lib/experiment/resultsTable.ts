/**
 * The final table of a run, one row per participant: test accuracy of the local-only baseline
 * (phase 1), of the global model and of the personal model, each at the last round and at the
 * best round. "Best" is fedtune's one definition (`selectedByValidation`): the round with the
 * lowest *validation* loss for that participant and model, round 0 included, ties → the earliest;
 * the test accuracy of that round is reported. Picking the round with the highest test accuracy
 * would report a number tuned on the test set. With a central test set (`evaluation.central`) a
 * last row, "central", gives the global model's accuracy on it (best: at the round selected by the
 * participants' weighted validation loss, `globalValLoss` — the round of the global-best model).
 */
import * as aq from "arquero";
import type { HistoryRow } from "../federation/history";
import { historyTable } from "../federation/history";
import { lastSelectedMax } from "../analysis/lastSelectedMax";
import { SERVER } from "../federation/history";

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

/** The participant column of the central test set's row. */
export const CENTRAL_ROW = "central";
/** The participant column of the row averaging the participants. */
export const MEAN_ROW = "mean";

/** One row of the final table. */
export interface ParticipantResult {
  readonly participant: string;
  /** Training samples (NaN on the central row: the server trains on nothing). */
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

/** Last and validation-selected test accuracy per participant and scope, keyed `participant\u0000scope`. */
function lastAndSelected(rows: readonly HistoryRow[]): Map<string, { last: number; best: number; bestRound: number }> {
  const t = lastSelectedMax(historyTable(rows), { metric: "accuracy", validationMetric: "valLoss" });
  const out = new Map<string, { last: number; best: number; bestRound: number }>();
  for (const r of t.objects() as Array<{ participant: string; scope: string; last: number; selected: number; selectedRound: number }>) {
    out.set(`${r.participant}\u0000${r.scope}`, { last: r.last, best: r.selected, bestRound: r.selectedRound });
  }
  return out;
}

/**
 * Test accuracy of one participant's `scope` model at the last round and at the round selected by
 * validation (`selectedByValidation`); NaN when that model was never evaluated, best and bestRound
 * NaN when no round has a validation loss.
 */
export function lastAndBest(rows: readonly HistoryRow[], participant: string, scope: "global" | "personal"): { last: number; best: number; bestRound: number } {
  const mine = rows.filter((r) => r.participant === participant && r.scope === scope);
  return lastAndSelected(mine).get(`${participant}\u0000${scope}`) ?? { last: NaN, best: NaN, bestRound: NaN };
}

/** The final per-participant rows, in participant order, plus a "mean" row (unweighted over participants). */
export function participantResults(
  rows: readonly HistoryRow[],
  participants: ReadonlyArray<{ readonly id: string; readonly trainSamples: number }>,
  local: readonly LocalPhaseResult[] = [],
): ParticipantResult[] {
  const localBy = new Map(local.map((l) => [l.participant, l] as const));
  const figures = lastAndSelected(rows);
  const none = { last: NaN, best: NaN, bestRound: NaN };
  const out: ParticipantResult[] = participants.map((p) => {
    const g = figures.get(`${p.id}\u0000global`) ?? none;
    const q = figures.get(`${p.id}\u0000personal`) ?? none;
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
  const central = lastSelectedMax(historyTable(rows.filter((r) => r.participant === SERVER)), { metric: "centralAccuracy", validationMetric: "globalValLoss" }).objects()[0] as
    | { last: number; selected: number; selectedRound: number }
    | undefined;
  if (central !== undefined) {
    out.push({
      participant: CENTRAL_ROW,
      trainSamples: NaN,
      localOnly: NaN,
      globalLast: central.last,
      globalBest: central.selected,
      globalBestRound: central.selectedRound,
      personalLast: NaN,
      personalBest: NaN,
      personalBestRound: NaN,
    });
  }
  return out;
}

/** The "mean" row of a final table (the central row, when there is one, comes after it). */
export function meanRow(results: readonly ParticipantResult[]): ParticipantResult {
  const mean = results.find((r) => r.participant === MEAN_ROW);
  if (mean === undefined) throw new Error(`meanRow: the table has no "${MEAN_ROW}" row (rows: ${results.map((r) => r.participant).join(", ")})`);
  return mean;
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
    Number.isFinite(r.trainSamples) ? String(r.trainSamples) : "–",
    pct(r.localOnly),
    pct(r.globalLast),
    withRound(r.globalBest, r.globalBestRound),
    pct(r.personalLast),
    withRound(r.personalBest, r.personalBestRound),
  ]);
}

/** The table as aligned text for a terminal (test accuracy; best = round of lowest validation loss). */
export function formatResultsTable(results: readonly ParticipantResult[]): string {
  return alignedTable(HEADERS, resultsCells(results), summaryRowCount(results.map((r) => r.participant)));
}

/** How many of these participant rows are summary rows (the "mean" row and the central row after it), ruled off in a printed table. */
export function summaryRowCount(participants: readonly string[]): number {
  return participants.filter((p) => p === MEAN_ROW || p === CENTRAL_ROW).length;
}

/** Rows under headers as aligned text: first column left, the others right, a rule under the headers and above the last `summaryRows` rows (the mean row). */
export function alignedTable(headers: readonly string[], rows: readonly string[][], summaryRows = 1): string {
  const cells = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const rule = widths.map((w) => "─".repeat(w)).join("  ");
  const body = rows.map(line);
  // A rule above the summary rows (the mean row, and the central row after it).
  if (body.length > summaryRows) body.splice(body.length - summaryRows, 0, rule);
  return [line(headers), rule, ...body].join("\n");
}

/** Column headers (for HTML). */
export function resultsHeaders(): string[] {
  return HEADERS.slice();
}
