/**
 * The report of a multi-seed run (`runRepetitions`): one self-contained HTML page with the table of
 * mean ± 95 % interval per participant and figure, the same figures as bars with error bars, each
 * seed's own table, and the config. Each repetition's own folder holds its single-run files.
 */
import * as aq from "arquero";
import { barChart } from "../viz/charts";
import type { PlotlyFigure } from "../viz/figure";
import { figureHtml, plotlyLoaderHtml } from "../viz/html";
import type { ExperimentConfig } from "../experiment/experimentConfig";
import type { RepetitionOutcome } from "../experiment/repetitionProtocol";
import type { ResultInterval } from "../experiment/resultsIntervals";
import { intervalCells, intervalHeaders } from "../experiment/resultsIntervals";
import { resultsCells, resultsHeaders } from "../experiment/resultsTable";
import { escapeHtml, REPORT_STYLE, tableHtml } from "./reportHtml";

/** Everything the multi-seed report shows. */
export interface RepetitionReportInput {
  readonly config: ExperimentConfig;
  readonly seeds: readonly number[];
  readonly intervals: readonly ResultInterval[];
  /** Each repetition, in seed order. */
  readonly repetitions: readonly RepetitionOutcome[];
  readonly backend: string;
}

/** Element id of the error-bar chart. */
export const REPETITION_FIGURE_ID = "fig-accuracy-intervals";

/** Bars of mean test accuracy per participant (local-only, global best, personal best), error bars the 95 % half-widths. */
export function intervalsFigure(intervals: readonly ResultInterval[], n: number): PlotlyFigure {
  const names: Record<string, string> = { localOnly: "local-only", globalBest: "global (best round)", personalBest: "personal (best round)" };
  const rows = intervals
    .filter((r) => r.measure in names && Number.isFinite(r.mean))
    .map((r) => ({ participant: r.participant, model: names[r.measure], mean: r.mean, halfWidth: Number.isFinite(r.halfWidth) ? r.halfWidth : 0 }));
  return barChart(aq.from(rows), {
    x: "participant",
    y: "mean",
    color: "model",
    error: "halfWidth",
    title: `Test accuracy, mean ± 95 % interval over ${n} seed(s)`,
    yTitle: "test accuracy",
  });
}

/** The complete, self-contained page. */
export function buildRepetitionReportHtml(input: RepetitionReportInput): string {
  const c = input.config;
  const title = `fedtune report — ${c.name} (${input.seeds.length} seeds)`;
  const seedTables = input.repetitions.map(
    (r) => `<h3>seed ${r.seed}</h3><p class="note">${escapeHtml(r.outDir)} · ${r.roundsRun} round(s) · ${r.seconds.toFixed(1)} s</p>${tableHtml(resultsHeaders(), resultsCells(r.results), "results")}`,
  );
  return [
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${REPORT_STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${escapeHtml(c.description ?? "")}</p>`,
    `<p>seeds ${input.seeds.join(", ")} · backend ${escapeHtml(input.backend)}</p>`,
    `<section><h2>Results</h2>`,
    tableHtml(intervalHeaders(), intervalCells(input.intervals), "results"),
    `<p class="note">Test accuracy, mean over the seeds ± the half-width of its 95 % interval (Student t with n − 1 degrees of freedom: with 3 seeds the factor is 4.30). ` +
      `<b>best</b> is the round with the lowest validation loss, so the test set is never used to choose. Each seed changes the data split, the head's initialisation, the shuffles and the sampling.</p></section>`,
    plotlyLoaderHtml(),
    `<section><h2>Error bars</h2>`,
    figureHtml(intervalsFigure(input.intervals, input.seeds.length), { id: REPETITION_FIGURE_ID }),
    `</section><section><h2>Each seed</h2>`,
    ...seedTables,
    `</section><section><h2>Config</h2><pre>${escapeHtml(JSON.stringify(c, null, 2))}</pre></section>`,
    `</body></html>\n`,
  ].join("\n");
}
