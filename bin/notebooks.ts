/**
 * `fedtune notebooks [paths…]`: rerun notebooks headless (fedtune's or anyone's), papermill-style
 * parameters, JUnit and Markdown reports, optional output comparison. See NOTEBOOKS_USAGE.
 *
 * Exit codes: 0 every notebook passed, 1 a notebook failed, 2 bad usage (not a notebook, unknown
 * parameter, missing kernel, bad option).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_TOLERANCE } from "../lib/notebooks/outputRegression";
import { formatSeconds, markdownSummary } from "../lib/notebooks/markdownSummary";
import { NotebookUsageError } from "../lib/notebooks/notebookJson";
import { notebookStats, runPassed } from "../lib/notebooks/notebookRun";
import { parseParameterArgument } from "../lib/notebooks/parameters";
import { NotebookExecutor, runNotebooks } from "../lib/notebooks/runNotebooks";

/** The usage text of `fedtune notebooks`. */
export const NOTEBOOKS_USAGE = `usage: fedtune notebooks [paths…] [options]

Runs each notebook top to bottom in a fresh Jupyter kernel (no Python needed), stops a notebook at
its first failing cell, and writes the executed notebooks and HTML exports to --out. A path may be a
folder (its *.ipynb files); with no path, notebooks/*.ipynb.

options:
  --kernel <name>         kernelspec for every notebook (default: each notebook's own, e.g. fedtune-ts)
  --param <NAME>=<value>  override a default of the cell tagged "parameters" (papermill-style); the
                          value is JSON if it parses (50, 0.1, true, [1,2], "text"), else text;
                          applies to every notebook that declares NAME; repeatable
  --jobs <n>              notebooks run at once, each in its own kernel (default 1)
  --cell-timeout <s>      seconds one cell may run (default 600)
  --timeout <s>           seconds one notebook may run (default 3600)
  --out <dir>             executed notebooks and HTML exports (default out/notebooks)
  --junit <file>          write a JUnit XML report (one test case per notebook and per failing cell)
  --summary <file>        write a Markdown summary (e.g. --summary "$GITHUB_STEP_SUMMARY")
  --compare <dir>         compare outputs with the executed notebooks in <dir> (same file names):
                          numbers in printed text, tables and chart data within the tolerance
  --rtol <x>              relative tolerance of --compare (default ${DEFAULT_TOLERANCE.rtol})
  --atol <x>              absolute tolerance of --compare (default ${DEFAULT_TOLERANCE.atol})
  --no-html               skip the HTML exports
  --quiet                 only the final summary line
  -h, --help              this text

exit codes: 0 all passed, 1 a notebook failed (or its outputs differ), 2 bad usage.
Examples:
  npx fedtune notebooks                                         all of notebooks/
  npx fedtune notebooks notebooks/04-federated-rounds.ipynb --param ROUNDS=50
  npx fedtune notebooks course/ --jobs 2 --junit out/junit.xml --compare reference/`;

/** Parsed options of `fedtune notebooks`. */
export interface NotebooksArgs {
  readonly files: string[];
  readonly kernel?: string;
  readonly params: string[];
  readonly jobs: number;
  readonly cellTimeout: number;
  readonly notebookTimeout: number;
  readonly out: string;
  readonly junit?: string;
  readonly summary?: string;
  readonly compare?: string;
  readonly rtol: number;
  readonly atol: number;
  readonly html: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

function numberOption(flag: string, text: string | undefined, fallback: number, check: (v: number) => boolean, what: string): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || !check(v)) throw new NotebookUsageError(`${flag} must be ${what}, got "${text}"`);
  return v;
}

/** Notebook files named by `paths` (folders expand to their *.ipynb, sorted); default notebooks/. */
export function expandPaths(paths: readonly string[], cwd = process.cwd()): string[] {
  const list = paths.length > 0 ? paths : ["notebooks"];
  const files: string[] = [];
  for (const p of list) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path.resolve(cwd, p));
    } catch {
      throw new NotebookUsageError(`${p}: no such file or folder`);
    }
    if (stat.isDirectory()) {
      const found = fs
        .readdirSync(path.resolve(cwd, p))
        .filter((f) => f.endsWith(".ipynb"))
        .sort()
        .map((f) => path.join(p, f));
      if (found.length === 0) throw new NotebookUsageError(`${p}: no .ipynb files in this folder`);
      files.push(...found);
    } else files.push(p);
  }
  return files;
}

/** Parse the arguments of `fedtune notebooks` (throws NotebookUsageError). */
export function parseNotebooksArgs(argv: readonly string[]): NotebooksArgs {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        kernel: { type: "string" },
        param: { type: "string", multiple: true },
        jobs: { type: "string" },
        "cell-timeout": { type: "string" },
        timeout: { type: "string" },
        out: { type: "string" },
        junit: { type: "string" },
        summary: { type: "string" },
        compare: { type: "string" },
        rtol: { type: "string" },
        atol: { type: "string" },
        "no-html": { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  }
  try {
    parsed = parse();
  } catch (e) {
    throw new NotebookUsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, "")}; see fedtune notebooks --help`);
  }
  const v = parsed.values;
  const help = v.help === true;
  return {
    files: help ? [] : parsed.positionals,
    kernel: v.kernel,
    params: v.param ?? [],
    jobs: numberOption("--jobs", v.jobs, 1, (x) => Number.isInteger(x) && x >= 1, "a whole number ≥ 1"),
    cellTimeout: numberOption("--cell-timeout", v["cell-timeout"], 600, (x) => x > 0, "a number of seconds > 0"),
    notebookTimeout: numberOption("--timeout", v.timeout, 3600, (x) => x > 0, "a number of seconds > 0"),
    out: v.out ?? path.join("out", "notebooks"),
    junit: v.junit,
    summary: v.summary,
    compare: v.compare,
    rtol: numberOption("--rtol", v.rtol, DEFAULT_TOLERANCE.rtol, (x) => x >= 0, "a number ≥ 0"),
    atol: numberOption("--atol", v.atol, DEFAULT_TOLERANCE.atol, (x) => x >= 0, "a number ≥ 0"),
    html: v["no-html"] !== true,
    quiet: v.quiet === true,
    help,
  };
}

/** Run `fedtune notebooks` with `executor`; returns the exit code (0, 1 or 2). */
export async function notebooksCommand(argv: readonly string[], executor: NotebookExecutor, log: (line: string) => void = (l) => process.stderr.write(l + "\n")): Promise<number> {
  try {
    const a = parseNotebooksArgs(argv);
    if (a.help) {
      process.stdout.write(NOTEBOOKS_USAGE + "\n");
      return 0;
    }
    if (a.compare !== undefined && !fs.existsSync(a.compare)) throw new NotebookUsageError(`--compare: ${a.compare} does not exist`);
    const files = expandPaths(a.files);
    const result = await runNotebooks(
      {
        files,
        kernel: a.kernel,
        parameters: a.params.map(parseParameterArgument),
        jobs: a.jobs,
        cellTimeout: a.cellTimeout,
        notebookTimeout: a.notebookTimeout,
        outDir: a.out,
        junit: a.junit,
        summary: a.summary,
        compareDir: a.compare,
        tolerance: { rtol: a.rtol, atol: a.atol },
        html: a.html,
        onProgress: a.quiet
          ? undefined
          : (e) => {
              if (e.kind === "start") {
                log(`notebook ${e.file} …`);
                return;
              }
              const r = e.run;
              const s = notebookStats(r.executed, r.failure);
              if (runPassed(r)) {
                log(`  ✓ ${r.path}: ${s.cellsRun}/${s.codeCells} cells, ${s.charts} charts, ${s.assertionsPassed} assertions in ${formatSeconds(r.seconds)}`);
                return;
              }
              // The whole story of a failure, as the Markdown summary tells it.
              const md = markdownSummary([r]).split("\n");
              log(`  ✗ ${r.path} after ${formatSeconds(r.seconds)}`);
              log(md.slice(md.findIndex((l) => l.startsWith("### ")) + 1).join("\n").trim().replace(/^/gm, "    "));
            },
      },
      executor,
    );
    const failed = result.runs.filter((r) => !runPassed(r)).length;
    log(`notebooks: ${result.runs.length - failed} passed, ${failed} failed in ${formatSeconds(result.wallSeconds)}${a.jobs > 1 ? ` (--jobs ${a.jobs})` : ""}; executed copies in ${a.out}`);
    return failed === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof NotebookUsageError) {
      process.stderr.write(`fedtune notebooks: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** `fedtune notebooks …` with the Node Jupyter client; returns the exit code. */
export async function notebooksMain(argv: readonly string[]): Promise<number> {
  // Loaded here, not at the top: zeromq is only needed once notebooks run.
  const { nodeExecutor } = require("../lib/notebooks/nodeExecutor") as typeof import("../lib/notebooks/nodeExecutor");
  return notebooksCommand(argv, nodeExecutor());
}
