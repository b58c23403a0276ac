/**
 * Output regression, nbval-style: compare an executed notebook's outputs with a reference copy
 * (an earlier executed notebook). Numbers in printed text and tables are compared with a
 * tolerance, the text around them exactly; a plotly chart's data traces likewise (names, types,
 * each data array element by element). Durations (`12.3 s`, `40 ms`, `850 samples/s`) are left
 * out, since they change from run to run; a cell tagged `nbval-ignore-output` is skipped, as in
 * nbval. stderr and HTML-only outputs are not compared.
 */
import { cellSource, cellTags, joinText, Notebook, NotebookCell } from "./notebookJson";
import { PLOTLY_MIME } from "./notebookRun";
import { INJECTED_TAG } from "./parameters";

/** The tag that excludes a cell's outputs from the comparison (nbval's name). */
export const IGNORE_OUTPUT_TAG = "nbval-ignore-output";

/** Tolerances: a number matches its reference when |actual − expected| ≤ atol + rtol·|expected|. */
export interface CompareTolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** Default tolerances: a relative change of 1e-6 is a difference (numbers must not drift). */
export const DEFAULT_TOLERANCE: CompareTolerance = { rtol: 1e-6, atol: 1e-12 };

/** One difference, located by cell. */
export interface OutputDifference {
  /** 0-based cell index in the executed notebook (-1: the notebook as a whole). */
  readonly cell: number;
  /** What differs, in a sentence. */
  readonly message: string;
}

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/gi;
const DURATION = /[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*(?:ms|s|sec|seconds|min|minutes|samples\/s|\/s|it\/s)\b/g;

/** Text with durations replaced by a placeholder. */
export function withoutDurations(text: string): string {
  return text.replace(DURATION, "<duration>");
}

/** True when `actual` matches `expected` within `tol`. */
export function numbersMatch(actual: number, expected: number, tol: CompareTolerance): boolean {
  if (Number.isNaN(actual) || Number.isNaN(expected)) return Number.isNaN(actual) && Number.isNaN(expected);
  if (!Number.isFinite(actual) || !Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/**
 * Compare two texts: the words must be equal, numbers equal within `tol`. Returns one message per
 * differing line ("line 3: 0.8123 → 0.8456"), empty when they match.
 */
export function compareText(actual: string, expected: string, tol: CompareTolerance): string[] {
  const a = withoutDurations(actual).replace(/\s+$/, "").split("\n");
  const e = withoutDurations(expected).replace(/\s+$/, "").split("\n");
  const out: string[] = [];
  if (a.length !== e.length) out.push(`${a.length} line(s), the reference has ${e.length}`);
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    const la = a[i];
    const le = e[i];
    if (la === le) continue;
    const words = (s: string): string => s.replace(NUMBER, "#").replace(/\s+/g, " ").trim();
    if (words(la) !== words(le)) {
      out.push(`line ${i + 1}: "${la.trim()}", the reference has "${le.trim()}"`);
      continue;
    }
    const na = la.match(NUMBER) ?? [];
    const ne = le.match(NUMBER) ?? [];
    const bad = na.map((x, k) => [x, ne[k]] as const).filter(([x, y]) => !numbersMatch(Number(x), Number(y), tol));
    if (bad.length > 0) out.push(`line ${i + 1}: ${bad.map(([x, y]) => `${y} → ${x}`).join(", ")} (in "${le.trim()}")`);
  }
  return out;
}

/** The comparable parts of a cell's outputs: stdout text, plain-text results, plotly figures. */
interface Comparable {
  readonly text: string;
  readonly figures: Array<{ data?: Array<Record<string, unknown>> }>;
}

function comparable(cell: NotebookCell): Comparable {
  const texts: string[] = [];
  const figures: Array<{ data?: Array<Record<string, unknown>> }> = [];
  for (const o of cell.outputs ?? []) {
    if (o.output_type === "stream") {
      if (o.name === "stdout") texts.push(joinText(o.text));
    } else if (o.output_type === "error") texts.push(`${o.ename}: ${o.evalue}\n`);
    else if (PLOTLY_MIME in o.data) figures.push(o.data[PLOTLY_MIME] as { data?: Array<Record<string, unknown>> });
    else if ("text/plain" in o.data) texts.push(joinText(o.data["text/plain"] as string | string[]) + "\n");
  }
  return { text: texts.join(""), figures };
}

/** Compare two values of a trace field: arrays element by element, numbers with `tol`, the rest exactly. */
function compareValue(a: unknown, e: unknown, tol: CompareTolerance, where: string, out: string[]): void {
  if (typeof a === "number" && typeof e === "number") {
    if (!numbersMatch(a, e, tol)) out.push(`${where}: ${e} → ${a}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(e)) {
    if (a.length !== e.length) {
      out.push(`${where}: ${a.length} value(s), the reference has ${e.length}`);
      return;
    }
    const before = out.length;
    for (let i = 0; i < a.length && out.length - before < 3; i++) compareValue(a[i], e[i], tol, `${where}[${i}]`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(e)) out.push(`${where}: ${JSON.stringify(e)} → ${JSON.stringify(a)}`);
}

/** The data fields of a plotly trace that are compared. */
const TRACE_FIELDS = ["type", "name", "x", "y", "z", "values", "labels", "text"];

/** Compare the data traces of two plotly figures; `label` names the chart in messages. */
export function compareFigure(actual: { data?: Array<Record<string, unknown>> }, expected: { data?: Array<Record<string, unknown>> }, tol: CompareTolerance, label: string): string[] {
  const ta = actual.data ?? [];
  const te = expected.data ?? [];
  const out: string[] = [];
  if (ta.length !== te.length) return [`${label}: ${ta.length} trace(s), the reference has ${te.length}`];
  ta.forEach((t, i) => {
    const name = typeof te[i].name === "string" ? ` "${te[i].name}"` : "";
    for (const field of TRACE_FIELDS) {
      if (!(field in t) && !(field in te[i])) continue;
      compareValue(t[field], te[i][field], tol, `${label}, trace ${i + 1}${name}, ${field}`, out);
    }
  });
  return out;
}

/** Code cells to compare, in order, with their index in the notebook (injected parameters left out). */
function codeCells(nb: Notebook): Array<{ cell: NotebookCell; index: number }> {
  return nb.cells.map((cell, index) => ({ cell, index })).filter(({ cell }) => cell.cell_type === "code" && !cellTags(cell).includes(INJECTED_TAG));
}

/**
 * Compare the outputs of `actual` with those of `reference`. Cells are paired by cell id when both
 * notebooks have ids, otherwise by position among code cells. Differences are listed by the cell of
 * `actual` they belong to.
 */
export function compareWithReference(actual: Notebook, reference: Notebook, tol: CompareTolerance = DEFAULT_TOLERANCE): OutputDifference[] {
  const mine = codeCells(actual);
  const theirs = codeCells(reference);
  const byId = new Map(theirs.filter((c) => c.cell.id).map((c) => [c.cell.id as string, c]));
  const useIds = mine.every((c) => c.cell.id && byId.has(c.cell.id));
  const diffs: OutputDifference[] = [];
  if (!useIds && mine.length !== theirs.length) {
    diffs.push({ cell: -1, message: `${mine.length} code cell(s), the reference has ${theirs.length}` });
    return diffs;
  }
  mine.forEach((m, k) => {
    const ref = useIds ? byId.get(m.cell.id as string) : theirs[k];
    if (!ref) return;
    if (cellTags(m.cell).includes(IGNORE_OUTPUT_TAG) || cellTags(ref.cell).includes(IGNORE_OUTPUT_TAG)) return;
    const a = comparable(m.cell);
    const e = comparable(ref.cell);
    const messages = compareText(a.text, e.text, tol);
    if (a.figures.length !== e.figures.length) messages.push(`${a.figures.length} chart(s), the reference has ${e.figures.length}`);
    else a.figures.forEach((f, i) => messages.push(...compareFigure(f, e.figures[i], tol, `chart ${i + 1}`)));
    if (messages.length > 0 && cellSource(m.cell) !== cellSource(ref.cell)) messages.push("(the cell's source differs from the reference's)");
    for (const message of messages) diffs.push({ cell: m.index, message });
  });
  return diffs;
}
