/**
 * Figures from arquero tables. A chart is described by column names, as in a grammar of graphics:
 * `x`, `y`, and `color` (one trace per distinct value, e.g. one line per participant).
 */
import type { ColumnTable } from "arquero";
import type { PlotlyFigure, PlotlyTrace } from "./figure";

/** Options shared by the chart builders. */
export interface ChartOptions {
  /** Column for the horizontal axis. */
  readonly x: string;
  /** Column for the vertical axis. */
  readonly y: string;
  /** Column whose values split the rows into traces (one trace per value), e.g. "participant". */
  readonly color?: string;
  /** Chart title. */
  readonly title?: string;
  /** Axis titles (default: the column names). */
  readonly xTitle?: string;
  readonly yTitle?: string;
  /** Plot height in pixels (default 400). */
  readonly heightPx?: number;
  /** Optional column of error-bar half-widths (e.g. a standard deviation). */
  readonly error?: string;
}

/** Options of `lineChart`. */
export interface LineChartOptions extends ChartOptions {
  /** Draw markers at the points (default true). */
  readonly markers?: boolean;
  /** Column whose values set the line style (e.g. "scope": global solid, personal dashed). */
  readonly dash?: string;
}

/** Options of `barChart`. */
export interface BarChartOptions extends ChartOptions {
  /** "group" (side by side, default) or "stack". */
  readonly barmode?: "group" | "stack";
}

type Cell = number | string;

function columnValues(table: ColumnTable, name: string, where: string): Cell[] {
  if (!table.columnNames().includes(name)) {
    throw new Error(`${where}: table has no column "${name}"; columns: ${table.columnNames().join(", ")}`);
  }
  // table.array honours filters and orderings; table.column(name).at(i) would read the unfiltered column.
  const values = table.array(name) as ArrayLike<unknown>;
  const out: Cell[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out.push(typeof v === "number" ? v : v === null || v === undefined ? Number.NaN : String(v));
  }
  return out;
}

/** Split row indices by the value of `column` (in first-seen order); one group when no column. */
function groupRows(table: ColumnTable, column: string | undefined, where: string): Array<{ key: string; rows: number[] }> {
  const n = table.numRows();
  if (!column) return [{ key: "", rows: Array.from({ length: n }, (_, i) => i) }];
  const values = columnValues(table, column, where);
  const groups = new Map<string, number[]>();
  values.forEach((v, i) => {
    const key = String(v);
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return Array.from(groups, ([key, rows]) => ({ key, rows }));
}

function baseLayout(o: ChartOptions): { [key: string]: unknown } {
  return {
    title: o.title ? { text: o.title } : undefined,
    height: o.heightPx ?? 400,
    margin: { l: 60, r: 20, t: o.title ? 50 : 20, b: 50 },
    xaxis: { title: { text: o.xTitle ?? o.x } },
    yaxis: { title: { text: o.yTitle ?? o.y } },
    legend: { orientation: "v" },
    template: undefined,
  };
}

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];

/** plotly's default colour sequence: one colour per participant, shared by its solid and dashed lines. */
export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** One line per value of `color` (e.g. accuracy per round, one line per participant). */
export function lineChart(table: ColumnTable, options: LineChartOptions): PlotlyFigure {
  const where = "lineChart";
  const xs = columnValues(table, options.x, where);
  const ys = columnValues(table, options.y, where);
  const errs = options.error ? columnValues(table, options.error, where) : undefined;
  const dashValues = options.dash ? columnValues(table, options.dash, where) : undefined;
  const dashKeys = dashValues ? Array.from(new Set(dashValues.map(String))) : [];
  const traces: PlotlyTrace[] = [];
  groupRows(table, options.color, where).forEach((colorGroup, colorIndex) => {
    const sub = dashValues ? splitBy(colorGroup.rows, (i) => String(dashValues[i])) : [{ key: "", rows: colorGroup.rows }];
    for (const part of sub) {
      const rows = part.rows.slice().sort((a, b) => compare(xs[a], xs[b]));
      const name = [colorGroup.key, part.key].filter((s) => s !== "").join(" · ") || options.y;
      traces.push({
        type: "scatter",
        mode: options.markers === false ? "lines" : "lines+markers",
        name,
        legendgroup: colorGroup.key,
        x: rows.map((i) => xs[i]),
        y: rows.map((i) => ys[i]),
        line: dashValues ? { dash: DASHES[dashKeys.indexOf(part.key) % DASHES.length], color: PALETTE[colorIndex % PALETTE.length] } : undefined,
        marker: dashValues ? { color: PALETTE[colorIndex % PALETTE.length] } : undefined,
        error_y: errs ? { type: "data", array: rows.map((i) => errs[i]), visible: true } : undefined,
      });
    }
  });
  return { data: traces, layout: baseLayout(options) };
}

/** Bars of `y` by `x`, one series per value of `color` (grouped or stacked). */
export function barChart(table: ColumnTable, options: BarChartOptions): PlotlyFigure {
  const where = "barChart";
  const xs = columnValues(table, options.x, where);
  const ys = columnValues(table, options.y, where);
  const errs = options.error ? columnValues(table, options.error, where) : undefined;
  const traces: PlotlyTrace[] = groupRows(table, options.color, where).map((g) => ({
    type: "bar",
    name: g.key || options.y,
    x: g.rows.map((i) => xs[i]),
    y: g.rows.map((i) => ys[i]),
    error_y: errs ? { type: "data", array: g.rows.map((i) => errs[i]), visible: true } : undefined,
  }));
  return { data: traces, layout: { ...baseLayout(options), barmode: options.barmode ?? "group" } };
}

function splitBy(rows: number[], key: (i: number) => string): Array<{ key: string; rows: number[] }> {
  const m = new Map<string, number[]>();
  for (const i of rows) {
    const k = key(i);
    const g = m.get(k);
    if (g) g.push(i);
    else m.set(k, [i]);
  }
  return Array.from(m, ([k, r]) => ({ key: k, rows: r }));
}

function compare(a: Cell, b: Cell): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
