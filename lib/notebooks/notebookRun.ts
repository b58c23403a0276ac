/**
 * The outcome of running one notebook, as the reports (JUnit, Markdown summary) and the output
 * comparison read it, and what can be counted in an executed notebook: cells run, charts drawn,
 * assertions passed.
 */
import { cellSource, Notebook } from "./notebookJson";
import type { OutputDifference } from "./outputRegression";

/** The plotly mime type fedtune's charts are sent as. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The cell a notebook stopped at. */
export interface CellFailure {
  /** 0-based index in the executed notebook's cells. */
  readonly index: number;
  /** The error's name (`Error`, `TimeoutError`, `CompileError`, …). */
  readonly ename: string;
  /** The error message, as the kernel reported it. */
  readonly message: string;
  /** The cell's stderr and traceback, for the reader of the report. */
  readonly details?: string;
}

/** One notebook's run. */
export interface NotebookRun {
  /** The notebook's path as given on the command line. */
  readonly path: string;
  /** The executed notebook (with outputs; with the injected parameters cell if any). */
  readonly executed: Notebook;
  /** Wall-clock seconds of the run, kernel start to shutdown. */
  readonly seconds: number;
  /** Seconds per cell (index = cell index; undefined for cells not run), when the executor measured them. */
  readonly cellSeconds?: ReadonlyArray<number | undefined>;
  /** The parameters injected, as `NAME=VALUE` texts. */
  readonly parameters?: readonly string[];
  /** Set when a cell failed (execution stops there). */
  readonly failure?: CellFailure;
  /** Set when the notebook failed outside any cell (kernel died, notebook timeout, kernel not started). */
  readonly error?: string;
  /** With `--compare`: outputs that differ from the reference notebook. */
  readonly differences?: readonly OutputDifference[];
}

/** True when the run passed: no failing cell, no error, no output difference. */
export function runPassed(run: NotebookRun): boolean {
  return run.failure === undefined && run.error === undefined && (run.differences?.length ?? 0) === 0;
}

/** What an executed notebook holds, counted for the summary. */
export interface NotebookStats {
  /** Code cells in the notebook. */
  readonly codeCells: number;
  /** Code cells that ran (have an execution count). */
  readonly cellsRun: number;
  /** Plotly charts in the outputs. */
  readonly charts: number;
  /** Assertions (`throw` checks and `assert…(` calls) in cells that completed without error. */
  readonly assertionsPassed: number;
}

/**
 * Assertions in TypeScript source: each `throw` statement (fedtune's notebooks check with
 * `if (!(…)) throw new Error(…)`) and each `assert(`, `assert.x(`, `console.assert(` call.
 * Comments and strings are not counted.
 */
export function countAssertions(source: string): number {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/[^\n]*/g, " ")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, '""');
  const throws = code.match(/\bthrow\b/g)?.length ?? 0;
  const asserts = code.match(/\bassert(?:\.\w+)?\s*\(/g)?.length ?? 0;
  return throws + asserts;
}

/** Count cells, charts and passed assertions in an executed notebook (the failing cell's assertions do not count). */
export function notebookStats(executed: Notebook, failure?: CellFailure): NotebookStats {
  let codeCells = 0;
  let cellsRun = 0;
  let charts = 0;
  let assertionsPassed = 0;
  executed.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    codeCells++;
    const ran = typeof cell.execution_count === "number";
    if (ran) cellsRun++;
    for (const o of cell.outputs ?? []) if ("data" in o && PLOTLY_MIME in o.data) charts++;
    if (ran && failure?.index !== i && (failure === undefined || i < failure.index)) assertionsPassed += countAssertions(cellSource(cell));
  });
  return { codeCells, cellsRun, charts, assertionsPassed };
}
