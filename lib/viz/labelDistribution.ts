/**
 * Plot of the label distribution per participant (as Flower Datasets' plot_label_distributions):
 * stacked bars (one trace per label) or a participant × label heatmap, from the `counts` table of
 * `partitionStatistics` (columns participant, label, className, count).
 */
import * as aq from "arquero";
import { PlotlyFigure, PlotlyTrace } from "./figure";

/** Options of `labelDistributionFigure`. */
export interface LabelDistributionOptions {
  /** "bar" (stacked bars, default) or "heatmap". */
  readonly kind?: "bar" | "heatmap";
  /** Show each participant's label shares instead of counts (default false). */
  readonly normalize?: boolean;
  readonly title?: string;
}

/** A plotly figure of label counts per participant from a (participant, label, className?, count) table. */
export function labelDistributionFigure(counts: aq.ColumnTable, options: LabelDistributionOptions = {}): PlotlyFigure {
  for (const col of ["participant", "label", "count"]) {
    if (!counts.columnNames().includes(col)) {
      throw new Error(`labelDistributionFigure: table needs a "${col}" column, has ${counts.columnNames().join(", ")}`);
    }
  }
  const rows = counts.objects() as Array<{ participant: number; label: number; className?: string; count: number }>;
  const participants = [...new Set(rows.map((r) => r.participant))].sort((a, b) => a - b);
  const labels = [...new Set(rows.map((r) => r.label))].sort((a, b) => a - b);
  const nameOf = new Map<number, string>();
  for (const r of rows) if (!nameOf.has(r.label)) nameOf.set(r.label, r.className ?? String(r.label));
  // matrix[label][participant]
  const matrix = labels.map(() => participants.map(() => 0));
  const pIndex = new Map(participants.map((p, i) => [p, i]));
  const lIndex = new Map(labels.map((l, i) => [l, i]));
  for (const r of rows) matrix[lIndex.get(r.label) as number][pIndex.get(r.participant) as number] += r.count;
  if (options.normalize) {
    participants.forEach((_, j) => {
      const total = matrix.reduce((a, row) => a + row[j], 0);
      if (total > 0) for (const row of matrix) row[j] /= total;
    });
  }
  const xNames = participants.map((p) => `participant ${p}`);
  const valueTitle = options.normalize ? "share of samples" : "samples";
  const title = options.title ?? "Label distribution per participant";
  if (options.kind === "heatmap") {
    const trace: PlotlyTrace = {
      type: "heatmap",
      x: xNames,
      y: labels.map((l) => nameOf.get(l) as string),
      z: matrix,
      colorscale: "Viridis",
      colorbar: { title: valueTitle },
    };
    return { data: [trace], layout: { title: { text: title }, xaxis: { title: { text: "participant" } }, yaxis: { title: { text: "label" } } } };
  }
  const data: PlotlyTrace[] = labels.map((l, i) => ({ type: "bar", name: nameOf.get(l) as string, x: xNames, y: matrix[i] }));
  return {
    data,
    layout: {
      title: { text: title },
      barmode: "stack",
      xaxis: { title: { text: "participant" } },
      yaxis: { title: { text: valueTitle } },
      legend: { title: { text: "label" } },
    },
  };
}
