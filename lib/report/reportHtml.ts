/**
 * The run report: one self-contained HTML file (plotly.js inlined once, no network) with the
 * results table, the per-participant curves (personal and global test accuracy per round, phase-1
 * validation loss per epoch), the mean accuracy of global vs personal vs local-only models, the
 * label distribution of the participants, and the resolved config. It opens offline, from a file.
 */
import * as aq from "arquero";
import type { HistoryRow } from "../federation/history";
import { historyTable, SERVER } from "../federation/history";
import { serverMetric } from "../analysis/serverMetric";
import { lineChart } from "../viz/charts";
import type { PlotlyFigure, PlotlyTrace } from "../viz/figure";
import { figureHtml, plotlyLoaderHtml } from "../viz/html";
import { labelDistributionFigure } from "../viz/labelDistribution";
import type { ExperimentConfig } from "../experiment/experimentConfig";
import type { ParticipantResult } from "../experiment/resultsTable";
import { resultsCells, resultsHeaders } from "../experiment/resultsTable";

/** Everything the report shows. */
export interface ReportInput {
  readonly config: ExperimentConfig;
  /** Federation history rows (round, participant, scope, metric, value). */
  readonly history: readonly HistoryRow[];
  /** Phase-1 curves: participant, epoch, trainLoss, valLoss (may be empty). */
  readonly localCurves: aq.ColumnTable;
  /** Label counts: participant, label, className, count. */
  readonly labelCounts: aq.ColumnTable;
  /** Split sizes: participant, train, validation, test. */
  readonly splitSizes: aq.ColumnTable;
  /** The final table rows. */
  readonly results: readonly ParticipantResult[];
  readonly backend: string;
  /** What the pretrained body saw, in one line (undefined for a fresh network). */
  readonly pretrainedBody?: string;
  /** Display names of the strategy and personalisation. */
  readonly strategy: string;
  readonly personalisation: string;
  readonly roundsRun: number;
  readonly converged: boolean;
}

/** The figures of a report, by role; each has a stable element id in the page. */
export interface ReportFigures {
  /** Personal-model test accuracy per round, one trace per participant. */
  readonly personalAccuracy: PlotlyFigure;
  /** Global-model test accuracy per round, one trace per participant. */
  readonly globalAccuracy: PlotlyFigure;
  /** Mean test accuracy per round: global, personal, and the local-only level. */
  readonly meanAccuracy: PlotlyFigure;
  /** Phase-1 validation loss per epoch, one trace per participant (undefined without phase 1). */
  readonly localPhase: PlotlyFigure | undefined;
  /** Label distribution per participant. */
  readonly labelDistribution: PlotlyFigure;
}

/** Element ids of the report's figures (tests and links use them). */
export const REPORT_FIGURE_IDS: { readonly [K in keyof ReportFigures]: string } = {
  personalAccuracy: "fig-personal-accuracy",
  globalAccuracy: "fig-global-accuracy",
  meanAccuracy: "fig-mean-accuracy",
  localPhase: "fig-local-phase",
  labelDistribution: "fig-label-distribution",
};

function scopeAccuracy(history: readonly HistoryRow[], scope: "global" | "personal"): aq.ColumnTable {
  const rows = history.filter((r) => r.scope === scope && r.metric === "accuracy" && r.participant !== SERVER);
  // Explicit columns: a model that was not evaluated (evaluation.models "used") gives an empty chart, not a missing column.
  return aq.table({ round: rows.map((r) => r.round), participant: rows.map((r) => r.participant), accuracy: rows.map((r) => r.value) });
}

/** Build the report's figures from its input. */
export function reportFigures(input: ReportInput): ReportFigures {
  const personalAccuracy = lineChart(scopeAccuracy(input.history, "personal"), {
    x: "round",
    y: "accuracy",
    color: "participant",
    title: `Personal models (${input.personalisation}): test accuracy per participant`,
    xTitle: "round",
    yTitle: "test accuracy",
  });
  const globalAccuracy = lineChart(scopeAccuracy(input.history, "global"), {
    x: "round",
    y: "accuracy",
    color: "participant",
    title: `Global model (${input.strategy}): test accuracy per participant`,
    xTitle: "round",
    yTitle: "test accuracy",
  });
  const history = historyTable(input.history);
  const server = (metric: string): { x: number[]; y: number[] } => {
    const series = serverMetric(history, metric);
    return { x: series.array("round") as number[], y: series.array("value") as number[] };
  };
  const g = server("globalAccuracy");
  const p = server("personalAccuracy");
  const traces: PlotlyTrace[] = [
    { type: "scatter", mode: "lines+markers", name: "global model", ...g },
    { type: "scatter", mode: "lines+markers", name: "personal models", ...p },
  ];
  // With a central test set, the global model's accuracy on it, beside the participants' mean.
  const central = server("centralAccuracy");
  if (central.x.length > 0) traces.push({ type: "scatter", mode: "lines+markers", name: "global model, central test set", ...central, line: { dash: "dash" } });
  // The server numbers are weighted by test size, so the local-only level is too.
  const testSize = new Map((input.splitSizes.objects() as Array<{ participant: string; test: number }>).map((s) => [s.participant, s.test] as const));
  let sum = 0;
  let weight = 0;
  for (const r of input.results) {
    const n = testSize.get(r.participant);
    if (n !== undefined && Number.isFinite(r.localOnly)) {
      sum += r.localOnly * n;
      weight += n;
    }
  }
  const localMean = weight > 0 ? sum / weight : undefined;
  if (localMean !== undefined && Number.isFinite(localMean) && g.x.length > 0) {
    traces.push({
      type: "scatter",
      mode: "lines",
      name: "local-only (phase 1)",
      x: [g.x[0], g.x[g.x.length - 1]],
      y: [localMean, localMean],
      line: { dash: "dot" },
    });
  }
  const meanAccuracy: PlotlyFigure = {
    data: traces,
    layout: {
      title: { text: "Mean test accuracy over participants (weighted by test size)" },
      height: 400,
      xaxis: { title: { text: "round" } },
      yaxis: { title: { text: "test accuracy" } },
    },
  };
  const localPhase =
    input.localCurves.numRows() > 0
      ? lineChart(input.localCurves, {
          x: "epoch",
          y: "valLoss",
          color: "participant",
          title: "Phase 1, personalised fine-tuning: validation loss per epoch",
          xTitle: "epoch",
          yTitle: "validation loss",
        })
      : undefined;
  const labelDistribution = labelDistributionFigure(input.labelCounts, { title: "Label distribution per participant (all splits)" });
  return { personalAccuracy, globalAccuracy, meanAccuracy, localPhase, labelDistribution };
}

/** Escape text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** An HTML table: headers, then rows whose first cell is a row header; `cls` is its class. */
export function tableHtml(headers: readonly string[], rows: readonly (readonly string[])[], cls: string): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`).join("\n");
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The stylesheet of fedtune's reports. */
export const REPORT_STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1em 0} th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}
thead th{border-bottom:2px solid #999} tbody th{text-align:left} tr:last-child{font-weight:600}
table.sizes tr:last-child{font-weight:normal}
pre{background:#f6f6f6;padding:1em;overflow:auto} .note{color:#555;font-size:.92em}
section{margin:2em 0}
`;

/** The complete, self-contained report page. */
export function buildReportHtml(input: ReportInput): string {
  const c = input.config;
  const figs = reportFigures(input);
  const title = `fedtune report — ${c.name}`;
  const sizes = input.splitSizes.objects() as Array<{ participant: string; train: number; validation: number; test: number }>;
  const fig = (f: PlotlyFigure | undefined, id: string): string => (f ? figureHtml(f, { id }) : "");
  const parts = [
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${REPORT_STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${escapeHtml(c.description ?? "")}</p>`,
    `<p>${sizes.length} participants · ${escapeHtml(input.strategy)} + ${escapeHtml(input.personalisation)} · ${input.roundsRun} round(s)` +
      `${input.converged ? " (stopped on convergence)" : ""} · seed ${c.seed} · backend ${escapeHtml(input.backend)}</p>`,
    input.pretrainedBody ? `<p class="note">Pretrained body saw: ${escapeHtml(input.pretrainedBody)}</p>` : "",
    `<section><h2>Results</h2>`,
    tableHtml(resultsHeaders(), resultsCells(input.results), "results"),
    `<p class="note">Test accuracy of each participant's models. <b>local-only</b>: phase 1, fine-tuned alone with early stopping. ` +
      `<b>global</b>: the shared model; <b>personal</b>: the participant's own model under ${escapeHtml(input.personalisation)}. ` +
      `<b>last</b>: after the final round; <b>best</b>: the round with the lowest validation loss, round 0 (the starting model) included (round in brackets), so the test set is never used to choose.</p></section>`,
    plotlyLoaderHtml(),
    `<section><h2>Curves</h2>`,
    fig(figs.personalAccuracy, REPORT_FIGURE_IDS.personalAccuracy),
    fig(figs.globalAccuracy, REPORT_FIGURE_IDS.globalAccuracy),
    fig(figs.meanAccuracy, REPORT_FIGURE_IDS.meanAccuracy),
    fig(figs.localPhase, REPORT_FIGURE_IDS.localPhase),
    `</section><section><h2>Data</h2>`,
    tableHtml(["participant", "train", "validation", "test"], sizes.map((s) => [s.participant, String(s.train), String(s.validation), String(s.test)]), "sizes"),
    fig(figs.labelDistribution, REPORT_FIGURE_IDS.labelDistribution),
    `</section><section><h2>Config</h2><pre>${escapeHtml(JSON.stringify(c, null, 2))}</pre></section>`,
    `</body></html>\n`,
  ];
  return parts.join("\n");
}
