/**
 * Execute a notebook headless through a real Jupyter kernel, without Python: start the kernel from
 * its kernelspec, run the code cells in order (each with a timeout), collect streams, display data
 * and errors into the cells as nbclient does, stop at the first failing cell, shut the kernel down.
 * The result is an executed nbformat-4 notebook plus one result per executed code cell.
 */
import * as path from "path";
import { OutputCollector } from "./cellOutputs";
import { KernelClient, KernelTimeoutError } from "./kernelClient";
import { findKernelSpec } from "./kernelSpec";
import { Notebook, readNotebook } from "./notebookFile";

/** Options for executeNotebook. */
export interface ExecuteOptions {
  /** Kernelspec name; default: the notebook's metadata.kernelspec.name. */
  readonly kernelName?: string;
  /** Per-cell timeout in ms (default 600 000, nbclient's usual 600 s). */
  readonly cellTimeoutMs?: number;
  /** Whole-notebook timeout in ms, kernel start included (default none): no cell runs past it. */
  readonly notebookTimeoutMs?: number;
  /** The notebook's name in messages when it is passed in memory. */
  readonly file?: string;
  /** Working directory of the kernel process (default: the notebook's folder). */
  readonly cwd?: string;
  /** Project root whose `jupyter/kernels` is searched first for the kernelspec (default: cwd). */
  readonly projectRoot?: string;
  /** Extra environment for the kernel. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called after each code cell (for progress output). */
  readonly onCell?: (result: CellResult) => void;
}

/** What happened to one code cell. */
export interface CellResult {
  /** Index among all cells (0-based). */
  readonly index: number;
  readonly id?: string;
  /** "ok", "error" (the kernel reported an error), "timeout" or "dead" (the kernel exited). */
  readonly status: "ok" | "error" | "timeout" | "dead";
  readonly executionCount: number | null;
  readonly durationMs: number;
  /** For a failed cell: the error (ename: evalue and traceback, else the cell's stderr, else the reason). */
  readonly message?: string;
}

/** The executed notebook and what each code cell did. */
export interface ExecutedNotebook {
  readonly notebook: Notebook;
  readonly cells: readonly CellResult[];
  /** True when every code cell ran without error. */
  readonly ok: boolean;
  /** The first failing cell, when !ok. */
  readonly failed?: CellResult;
  /** Whatever the kernel process wrote to its own stderr/stdout (not into a cell). */
  readonly kernelLog: string;
  /** How the kernel process ended (code 0 after a clean shutdown). */
  readonly kernelExit?: { readonly code: number | null; readonly signal: string | null };
  readonly durationMs: number;
}

// tslab writes ANSI colours into tracebacks; the message printed for a failure is plain text.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function failureMessage(outputs: NonNullable<Notebook["cells"][number]["outputs"]>): string {
  const err = outputs.find((o) => o.output_type === "error");
  if (err && err.output_type === "error") return [`${err.ename}: ${err.evalue}`, ...err.traceback].join("\n").replace(ANSI, "");
  // tslab reports compile errors and uncaught exceptions on stderr, not as an error output.
  const stderr = outputs.map((o) => (o.output_type === "stream" && o.name === "stderr" ? o.text : "")).join("");
  return stderr.replace(ANSI, "").trim() || "the kernel reported an error without a message";
}

/**
 * Execute the notebook at `file` (not modified), or a notebook already in memory (a copy is
 * executed; `options.file` names it in messages), and return the executed copy.
 */
export async function executeNotebook(source: string | Notebook, options: ExecuteOptions = {}): Promise<ExecutedNotebook> {
  const file = typeof source === "string" ? source : options.file ?? "notebook";
  const nb: Notebook = typeof source === "string" ? readNotebook(source) : (JSON.parse(JSON.stringify(source)) as Notebook);
  const spec = (nb.metadata.kernelspec ?? {}) as { name?: unknown };
  const kernelName = options.kernelName ?? (typeof spec.name === "string" ? spec.name : undefined);
  if (!kernelName) throw new Error(`${file}: metadata.kernelspec.name is missing; give options.kernelName`);
  const cwd = path.resolve(options.cwd ?? path.dirname(file));
  const timeoutMs = options.cellTimeoutMs ?? 600_000;
  const t0 = Date.now();
  const kernel = await KernelClient.start(findKernelSpec(kernelName, options.projectRoot ?? cwd), { cwd, env: options.env });
  const results: CellResult[] = [];
  const collector = new OutputCollector();
  let failed: CellResult | undefined;
  try {
    const info = kernel.kernelInfo.language_info;
    if (info && typeof info === "object") nb.metadata.language_info = info;
    for (let index = 0; index < nb.cells.length && !failed; index++) {
      const cell = nb.cells[index];
      if (cell.cell_type !== "code") continue;
      cell.outputs = [];
      cell.execution_count = null;
      const start = new Date();
      let status: CellResult["status"];
      let message: string | undefined;
      try {
        const left = options.notebookTimeoutMs === undefined ? Infinity : t0 + options.notebookTimeoutMs - Date.now();
        const r = await kernel.execute(cell.source, Math.max(0, Math.min(timeoutMs, left)));
        cell.outputs = collector.outputs(r.messages);
        cell.execution_count = r.executionCount;
        status = r.status === "ok" ? "ok" : "error";
        if (status === "error") message = failureMessage(cell.outputs);
      } catch (e) {
        status = e instanceof KernelTimeoutError ? "timeout" : "dead";
        const notebookTimedOut = options.notebookTimeoutMs !== undefined && Date.now() - t0 >= options.notebookTimeoutMs;
        message =
          e instanceof KernelTimeoutError
            ? notebookTimedOut
              ? `the notebook timed out after ${options.notebookTimeoutMs / 1000} s (in this cell)`
              : `cell timed out after ${timeoutMs / 1000} s`
            : e instanceof Error
              ? e.message
              : String(e);
      }
      const end = new Date();
      cell.metadata = {
        ...cell.metadata,
        execution: { "iopub.status.busy": start.toISOString(), "iopub.status.idle": end.toISOString() },
      };
      const result: CellResult = {
        index,
        id: cell.id,
        status,
        executionCount: cell.execution_count ?? null,
        durationMs: end.getTime() - start.getTime(),
        message,
      };
      results.push(result);
      options.onCell?.(result);
      if (status !== "ok") failed = result;
    }
  } finally {
    if (failed && failed.status === "timeout") await kernel.kill();
    else await kernel.shutdown();
  }
  return { notebook: nb, cells: results, ok: !failed, failed, kernelLog: kernel.processStderr, kernelExit: kernel.exitStatus, durationMs: Date.now() - t0 };
}
