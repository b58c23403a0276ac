/**
 * nbformat 4 notebooks as plain JSON: the types fedtune's notebook tools read and write, and a
 * parser that names the file and the field when a notebook is not what it should be.
 * Reference: https://nbformat.readthedocs.io/en/latest/format_description.html
 */
import * as fs from "node:fs";

/** Multi-line text as nbformat stores it: one string, or a list of lines. */
export type MultilineText = string | string[];

/** A mime bundle: mime type → content (text as MultilineText, JSON types as objects). */
export interface MimeBundle {
  [mime: string]: unknown;
}

/** One output of a code cell. */
export interface CellOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error" | "update_display_data";
  name?: string;
  text?: MultilineText;
  data?: MimeBundle;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** One cell. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: MultilineText;
  metadata: Record<string, unknown>;
  outputs?: CellOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

/** A whole notebook. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

/** Bad input (a file that is not a notebook, an unknown parameter, a missing kernel): exit code 2. */
export class NotebookUsageError extends Error {
  override name = "NotebookUsageError";
}

/** Text of a multi-line field. */
export function joinText(text: MultilineText | undefined): string {
  if (text === undefined) return "";
  return Array.isArray(text) ? text.join("") : text;
}

/** A cell's source as one string. */
export function cellSource(cell: NotebookCell): string {
  return joinText(cell.source);
}

/** A cell's tags (empty when none). */
export function cellTags(cell: NotebookCell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/** Parse notebook JSON text; `file` names the notebook in errors. */
export function parseNotebook(text: string, file: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NotebookUsageError(`${file}: not a notebook (invalid JSON: ${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new NotebookUsageError(`${file}: not a notebook (the JSON is not an object)`);
  const nb = raw as Record<string, unknown>;
  if (nb.nbformat !== 4) throw new NotebookUsageError(`${file}: nbformat must be 4, got ${JSON.stringify(nb.nbformat)}`);
  if (!Array.isArray(nb.cells)) throw new NotebookUsageError(`${file}: "cells" must be a list`);
  if (nb.metadata === null || typeof nb.metadata !== "object") throw new NotebookUsageError(`${file}: "metadata" must be an object`);
  nb.cells.forEach((c: unknown, i: number) => {
    const where = `${file}: cell ${i + 1}`;
    if (c === null || typeof c !== "object") throw new NotebookUsageError(`${where} is not an object`);
    const cell = c as Record<string, unknown>;
    if (cell.cell_type !== "code" && cell.cell_type !== "markdown" && cell.cell_type !== "raw") {
      throw new NotebookUsageError(`${where}: cell_type must be code, markdown or raw, got ${JSON.stringify(cell.cell_type)}`);
    }
    if (typeof cell.source !== "string" && !(Array.isArray(cell.source) && cell.source.every((s) => typeof s === "string"))) {
      throw new NotebookUsageError(`${where}: source must be a string or a list of strings`);
    }
    if (cell.metadata === undefined) cell.metadata = {};
    const tags = (cell.metadata as Record<string, unknown>).tags;
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      throw new NotebookUsageError(`${where}: metadata.tags must be a list of strings`);
    }
    if (cell.cell_type === "code" && cell.outputs !== undefined && !Array.isArray(cell.outputs)) {
      throw new NotebookUsageError(`${where}: outputs must be a list`);
    }
  });
  return raw as Notebook;
}

/** Read and parse a notebook file. */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new NotebookUsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseNotebook(text, file);
}

/** A short label for a cell in messages: "cell 7 (`const x = …`)", 1-based as front ends show it. */
export function cellLabel(nb: Notebook, index: number): string {
  const first = cellSource(nb.cells[index]).split("\n").find((l) => l.trim() !== "") ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}…` : first;
  return `cell ${index + 1}${short ? ` (${short.trim()})` : ""}`;
}
