/**
 * What fedtune's notebook tools (parameters, reports, output regression) need on top of
 * notebookFile.ts: input errors that mean "bad usage" (exit code 2), reading a notebook given on the
 * command line as such, and cells' tags, text and labels.
 */
import type { NotebookOutput } from "./cellOutputs";
import { Notebook, NotebookCell, parseNotebook, validateNotebook } from "./notebookFile";

export type { Notebook, NotebookCell, NotebookOutput };

/** Bad input (a file that is not a notebook, an unknown parameter, a missing kernel): exit code 2. */
export class NotebookUsageError extends Error {
  override name = "NotebookUsageError";
}

/** Text of a multi-line field (nbformat stores a string or a list of lines). */
export function joinText(text: string | readonly string[] | undefined): string {
  if (text === undefined) return "";
  return typeof text === "string" ? text : text.join("");
}

/** A cell's source as one string. */
export function cellSource(cell: NotebookCell): string {
  return joinText(cell.source as string | string[]);
}

/** A cell's tags (empty when none). */
export function cellTags(cell: NotebookCell): string[] {
  const tags = (cell.metadata ?? {}).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/**
 * Parse a notebook given as input: JSON, nbformat 4, valid against the nbformat schema; every
 * problem is a NotebookUsageError naming `file` (and the JSON path).
 */
export function parseInputNotebook(text: string, file: string): Notebook {
  let nb: Notebook;
  try {
    nb = parseNotebook(text, file);
  } catch (e) {
    throw new NotebookUsageError((e as Error).message);
  }
  const problems = validateNotebook(nb);
  if (problems.length > 0) throw new NotebookUsageError(`${file}: not a valid nbformat-4 notebook: ${problems.slice(0, 5).join("; ")}`);
  return nb;
}

/** A short label for a cell in messages: "cell 7 (const x = …)", 1-based as front ends show it. */
export function cellLabel(nb: Notebook, index: number): string {
  const first = cellSource(nb.cells[index]).split("\n").find((l) => l.trim() !== "") ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}…` : first;
  return `cell ${index + 1}${short ? ` (${short.trim()})` : ""}`;
}
