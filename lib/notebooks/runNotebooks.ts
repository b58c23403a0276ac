/**
 * Run notebooks the way a CI job wants them run: check all the input first (every file a notebook,
 * every parameter declared, every kernel installed, every reference present), then execute up to
 * `jobs` notebooks at once, each in its own kernel, compare outputs with a reference when asked, and
 * write the executed notebooks, their HTML exports, a JUnit report and a Markdown summary.
 *
 * The runner knows the `NotebookExecutor` interface only; `nodeExecutor.ts` is the one that talks
 * to a Jupyter kernel.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compareWithReference, CompareTolerance, DEFAULT_TOLERANCE } from "./outputRegression";
import { junitXml } from "./junitXml";
import { markdownSummary } from "./markdownSummary";
import { Notebook, NotebookUsageError, parseInputNotebook } from "./notebookJson";
import { CellFailure, NotebookRun, runPassed } from "./notebookRun";
import { injectParametersInto, ParameterAssignment } from "./parameters";

/** What executing one notebook gave. */
export interface ExecutionOutcome {
  /** The executed notebook (outputs filled in up to the failing cell). */
  readonly executed: Notebook;
  /** Seconds per cell index (undefined for cells not run). */
  readonly cellSeconds: ReadonlyArray<number | undefined>;
  /** The failing cell, if one failed (error, cell timeout, notebook timeout, kernel death). */
  readonly failure?: CellFailure;
  /** A failure outside any cell (the kernel did not start). */
  readonly error?: string;
}

/** Options of one execution. */
export interface ExecutionOptions {
  /** The notebook's path, for messages. */
  readonly file: string;
  /** The kernelspec to start. */
  readonly kernelName: string;
  /** Working directory of the kernel (the notebook's folder unless the kernelspec changes it). */
  readonly cwd: string;
  /** Per-cell timeout. */
  readonly cellTimeoutMs: number;
  /** Whole-notebook timeout (no cell may run past it). */
  readonly notebookTimeoutMs: number;
}

/** Something that runs a notebook in a kernel. */
export interface NotebookExecutor {
  /** Throw an error naming the kernel when no kernelspec `name` is installed. */
  checkKernel(name: string): void;
  /** Execute `notebook` (already parameterised) in a fresh kernel; never throws for a failing cell. */
  execute(notebook: Notebook, options: ExecutionOptions): Promise<ExecutionOutcome>;
  /** The executed notebook as HTML (undefined: no HTML export). */
  renderHtml?(notebook: Notebook): string;
  /** The executed notebook as file text. */
  serialize(notebook: Notebook): string;
}

/** Options of runNotebooks. */
export interface RunNotebooksOptions {
  /** Notebook files, run and reported in this order. */
  readonly files: readonly string[];
  /** Kernelspec for every notebook (default: each notebook's metadata.kernelspec.name). */
  readonly kernel?: string;
  /** `--param` assignments (each applies to the notebooks that declare it). */
  readonly parameters?: readonly ParameterAssignment[];
  /** Per-cell timeout in seconds (default 600). */
  readonly cellTimeout?: number;
  /** Per-notebook timeout in seconds (default 3600). */
  readonly notebookTimeout?: number;
  /** Notebooks run at once (default 1). */
  readonly jobs?: number;
  /** Folder for the executed notebooks and HTML exports. */
  readonly outDir: string;
  /** Where to write the JUnit XML report (none when undefined). */
  readonly junit?: string;
  /** Where to write the Markdown summary (none when undefined). */
  readonly summary?: string;
  /** Folder of reference executed notebooks (same file names) to compare outputs with. */
  readonly compareDir?: string;
  /** Tolerances of the comparison. */
  readonly tolerance?: CompareTolerance;
  /** Write HTML exports (default true). */
  readonly html?: boolean;
  /** Progress: called when a notebook starts and ends. */
  readonly onProgress?: (event: { kind: "start"; file: string } | { kind: "end"; run: NotebookRun }) => void;
}

/** One notebook ready to run. */
export interface PreparedNotebook {
  readonly file: string;
  readonly notebook: Notebook;
  readonly kernelName: string;
  readonly parameters: string[];
  /** The reference notebook, with --compare. */
  readonly reference?: Notebook;
}

/** What runNotebooks did. */
export interface RunNotebooksResult {
  readonly runs: NotebookRun[];
  readonly wallSeconds: number;
  /** True when every notebook passed. */
  readonly passed: boolean;
  /** Files written (executed notebooks, HTML, reports). */
  readonly written: string[];
}

/** The output name of a notebook: its base name; two notebooks with one name are an error. */
function outputNames(files: readonly string[]): string[] {
  const names = files.map((f) => path.basename(f).replace(/\.ipynb$/i, ""));
  const seen = new Map<string, string>();
  names.forEach((n, i) => {
    const other = seen.get(n);
    if (other !== undefined) throw new NotebookUsageError(`${other} and ${files[i]} would both be written as ${n}.ipynb; run them separately or rename one`);
    seen.set(n, files[i]);
  });
  return names;
}

/**
 * Check every input before anything runs: files readable nbformat-4 JSON, parameters declared and
 * of the right kind, kernels installed, references present. Throws NotebookUsageError (exit 2).
 */
export function prepareNotebooks(options: RunNotebooksOptions, executor: Pick<NotebookExecutor, "checkKernel">): PreparedNotebook[] {
  if (options.files.length === 0) throw new NotebookUsageError("no notebooks given");
  const names = outputNames(options.files);
  const read = options.files.map((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new NotebookUsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return { file, notebook: parseInputNotebook(text, file) };
  });
  const injected = injectParametersInto(read, options.parameters ?? []);
  const checked = new Set<string>();
  return injected.map(({ file, notebook, parameters }, i) => {
    const spec = notebook.metadata.kernelspec as { name?: unknown } | undefined;
    const kernelName = options.kernel ?? (typeof spec?.name === "string" ? spec.name : undefined);
    if (!kernelName) throw new NotebookUsageError(`${file}: metadata.kernelspec.name is missing; name a kernel with --kernel`);
    if (!checked.has(kernelName)) {
      try {
        executor.checkKernel(kernelName);
      } catch (e) {
        throw new NotebookUsageError(`${file}: ${(e as Error).message}`);
      }
      checked.add(kernelName);
    }
    let reference: Notebook | undefined;
    if (options.compareDir !== undefined) {
      const ref = path.join(options.compareDir, `${names[i]}.ipynb`);
      if (!fs.existsSync(ref)) throw new NotebookUsageError(`--compare: no reference for ${file} (looked for ${ref})`);
      reference = parseInputNotebook(fs.readFileSync(ref, "utf8"), ref);
    }
    return { file, notebook, kernelName, parameters, reference };
  });
}

/** Run `items` with at most `jobs` at once; results in input order. */
export async function mapWithJobs<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

function writeFile(file: string, text: string, written: string[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text);
  written.push(file);
}

/** Prepare (may throw NotebookUsageError), run, compare and report; never throws for a failing notebook. */
export async function runNotebooks(options: RunNotebooksOptions, executor: NotebookExecutor): Promise<RunNotebooksResult> {
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new NotebookUsageError(`--jobs must be a whole number ≥ 1, got ${jobs}`);
  const cellTimeout = options.cellTimeout ?? 600;
  const notebookTimeout = options.notebookTimeout ?? 3600;
  for (const [flag, v] of [["--cell-timeout", cellTimeout], ["--timeout", notebookTimeout]] as const) {
    if (!(v > 0)) throw new NotebookUsageError(`${flag} must be a number of seconds > 0, got ${v}`);
  }
  const prepared = prepareNotebooks(options, executor);
  const names = outputNames(options.files);
  const written: string[] = [];
  const t0 = Date.now();
  const runs = await mapWithJobs(prepared, jobs, async (p, i): Promise<NotebookRun> => {
    options.onProgress?.({ kind: "start", file: p.file });
    const start = Date.now();
    const outcome = await executor.execute(p.notebook, {
      file: p.file,
      kernelName: p.kernelName,
      cwd: path.dirname(path.resolve(p.file)),
      cellTimeoutMs: cellTimeout * 1000,
      notebookTimeoutMs: notebookTimeout * 1000,
    });
    const seconds = (Date.now() - start) / 1000;
    const differences = p.reference && !outcome.failure && !outcome.error ? compareWithReference(outcome.executed, p.reference, options.tolerance ?? DEFAULT_TOLERANCE) : undefined;
    const run: NotebookRun = { path: p.file, executed: outcome.executed, seconds, cellSeconds: outcome.cellSeconds, parameters: p.parameters, failure: outcome.failure, error: outcome.error, differences };
    writeFile(path.join(options.outDir, `${names[i]}.ipynb`), executor.serialize(outcome.executed), written);
    if (options.html !== false && executor.renderHtml) writeFile(path.join(options.outDir, `${names[i]}.html`), executor.renderHtml(outcome.executed), written);
    options.onProgress?.({ kind: "end", run });
    return run;
  });
  const wallSeconds = (Date.now() - t0) / 1000;
  if (options.junit) writeFile(options.junit, junitXml(runs), written);
  if (options.summary) writeFile(options.summary, markdownSummary(runs, { wallSeconds, jobs }), written);
  return { runs, wallSeconds, passed: runs.every(runPassed), written };
}
