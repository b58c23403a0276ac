/**
 * The NotebookExecutor of `fedtune notebooks`: the Node Jupyter client (executeNotebook.ts), the
 * kernelspec search (the current project's `jupyter/` first, then fedtune's own), nbformat
 * validation of what was executed, and the HTML export (renderHtml.ts).
 */
import * as path from "path";
import { executeNotebook } from "./executeNotebook";
import { findKernelSpec } from "./kernelSpec";
import { serializeNotebook, validateNotebook } from "./notebookFile";
import type { Notebook } from "./notebookJson";
import type { CellFailure } from "./notebookRun";
import { renderHtml } from "./renderHtml";
import type { ExecutionOptions, ExecutionOutcome, NotebookExecutor } from "./runNotebooks";

/** fedtune's own folder (holds jupyter/kernels/fedtune-ts). */
export const FEDTUNE_ROOT = path.resolve(__dirname, "..", "..");

/** Stack frames of the kernel's own machinery (node:vm, tslab), not of the notebook. */
const KERNEL_FRAME = /^\s+at .*(node:vm|node:internal|[\\/]tslab[\\/]dist[\\/]|sigintHandlersWrap)/;

/**
 * A cell's failure text, as executeNotebook reports it, split into error name, message and details.
 * Understands an error output (`Error: boom` + traceback), tslab's stderr for an exception (Node's
 * uncaught-exception layout: `evalmachine.<anonymous>:5`, the line, `^`, then `Error: boom` and the
 * stack) and tslab's compile errors (`1:7 - Cannot find name 'x'.`: ename TypeScriptError). Stack
 * frames inside the kernel's machinery are left out.
 */
export function parseCellError(status: string, text: string): { ename: string; message: string; details?: string } {
  const lines = text.replace(/\r/g, "").split("\n").filter((l) => !KERNEL_FRAME.test(l));
  const details = (skip: number): string | undefined => lines.filter((_, i) => i !== skip).join("\n").trim() || undefined;
  if (status === "timeout") return { ename: "TimeoutError", message: lines[0]?.trim() || "timed out", details: details(0) };
  if (status === "dead") return { ename: "DeadKernelError", message: lines[0]?.trim() || "the kernel died", details: details(0) };
  const thrown = lines.findIndex((l) => /^[\w$]*(?:Error|Exception)(?::|$)/.test(l));
  if (thrown >= 0) {
    const m = /^([A-Za-z_$][\w$]*)(?::\s?(.*))?$/.exec(lines[thrown].trim()) as RegExpExecArray;
    return { ename: m[1], message: m[2] ?? "", details: details(thrown) };
  }
  const compile = lines.findIndex((l) => /^\d+:\d+ - /.test(l.trim()));
  if (compile >= 0) return { ename: "TypeScriptError", message: lines[compile].trim(), details: details(compile) };
  const first = lines.findIndex((l) => l.trim() !== "");
  return { ename: "CellError", message: first >= 0 ? lines[first].trim() : "the kernel reported an error without a message", details: details(first) };
}

/** An executor running each notebook in a fresh kernel started from its kernelspec (no Python). */
export function nodeExecutor(options: { projectRoot?: string; env?: Readonly<Record<string, string>> } = {}): NotebookExecutor {
  const roots = Array.from(new Set([path.resolve(options.projectRoot ?? process.cwd()), FEDTUNE_ROOT]));
  const rootOf = (name: string): string => {
    let last: Error | undefined;
    for (const root of roots) {
      try {
        findKernelSpec(name, root);
        return root;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last ?? new Error(`no Jupyter kernel named "${name}"`);
  };
  return {
    checkKernel(name: string): void {
      rootOf(name);
    },
    async execute(notebook: Notebook, o: ExecutionOptions): Promise<ExecutionOutcome> {
      let r: Awaited<ReturnType<typeof executeNotebook>>;
      try {
        r = await executeNotebook(notebook, {
          file: o.file,
          kernelName: o.kernelName,
          cwd: o.cwd,
          projectRoot: rootOf(o.kernelName),
          cellTimeoutMs: o.cellTimeoutMs,
          notebookTimeoutMs: o.notebookTimeoutMs,
          env: options.env,
        });
      } catch (e) {
        // The kernel did not start (or died before the first cell): nothing was executed.
        return { executed: notebook, cellSeconds: [], error: `the kernel "${o.kernelName}" did not run: ${(e as Error).message}` };
      }
      const cellSeconds: Array<number | undefined> = new Array(r.notebook.cells.length).fill(undefined);
      for (const c of r.cells) cellSeconds[c.index] = c.durationMs / 1000;
      let failure: CellFailure | undefined;
      if (r.failed) {
        failure = { index: r.failed.index, ...parseCellError(r.failed.status, r.failed.message ?? "") };
      }
      const invalid = validateNotebook(r.notebook);
      const error = invalid.length > 0 ? `the executed notebook is not valid nbformat 4: ${invalid.slice(0, 5).join("; ")}` : undefined;
      return { executed: r.notebook, cellSeconds, failure, error };
    },
    renderHtml: (nb: Notebook): string => renderHtml(nb),
    serialize: (nb: Notebook): string => serializeNotebook(nb),
  };
}
