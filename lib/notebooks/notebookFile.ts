/**
 * Read, write and validate nbformat-4 notebooks without Python. Written files look like nbformat's
 * own (`nbformat.write`: keys sorted, indent 1, multi-line strings split into lines, final newline),
 * so an executed notebook diffs cleanly against one written by nbclient.
 *
 * Validation uses the official nbformat v4 JSON schema (draft-04), validated with ajv; the schema
 * file is `nbformat.v4.schema.json` next to this one, copied unchanged from nbformat 5.5.0 (Debian
 * bookworm's python3-nbformat 5.5.0-1, `nbformat/v4/nbformat.v4.schema.json`, the v4.5 schema;
 * BSD-3-Clause, https://github.com/jupyter/nbformat).
 */
import Ajv from "ajv-draft-04";
import * as fs from "fs";
import * as path from "path";
import type { NotebookOutput } from "./cellOutputs";

/** A cell, multi-line strings joined. */
export interface NotebookCell {
  id?: string;
  cell_type: "code" | "markdown" | "raw";
  metadata: Record<string, unknown>;
  source: string;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

/** An nbformat-4 notebook, multi-line strings joined. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

const joinLines = (v: unknown): unknown => (Array.isArray(v) && v.every((s) => typeof s === "string") ? v.join("") : v);

/** Is this mime type stored as JSON (kept whole) rather than as text split into lines? */
function isJsonMime(mime: string): boolean {
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

/** Parse notebook JSON text; multi-line string arrays become strings. `file` names it in errors. */
export function parseNotebook(text: string, file = "notebook"): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const nb = raw as Notebook;
  if (!nb || typeof nb !== "object" || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new Error(`${file}: not an nbformat-4 notebook (nbformat must be 4 and cells a list)`);
  }
  for (const cell of nb.cells) {
    cell.source = joinLines(cell.source) as string;
    for (const o of cell.outputs ?? []) {
      if (o.output_type === "stream") o.text = joinLines(o.text) as string;
      if ("data" in o) for (const k of Object.keys(o.data)) if (!isJsonMime(k)) o.data[k] = joinLines(o.data[k]);
    }
  }
  return nb;
}

/** Read a notebook file. */
export function readNotebook(file: string): Notebook {
  return parseNotebook(fs.readFileSync(file, "utf8"), file);
}

/** Python's `str.splitlines(True)` (every line break Python knows), as nbformat stores multi-line strings. */
function splitLines(s: string): string[] {
  return s.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])|[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+$/g) ?? [];
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The on-disk JSON text of `nb`, as nbformat writes it. */
export function serializeNotebook(nb: Notebook): string {
  const copy = JSON.parse(JSON.stringify(nb)) as Record<string, unknown> & { cells: Record<string, unknown>[] };
  for (const cell of copy.cells) {
    if (typeof cell.source === "string") cell.source = splitLines(cell.source);
    for (const o of (cell.outputs ?? []) as Record<string, unknown>[]) {
      if (o.output_type === "stream" && typeof o.text === "string") o.text = splitLines(o.text);
      const data = o.data as Record<string, unknown> | undefined;
      if (data) for (const k of Object.keys(data)) if (!isJsonMime(k) && typeof data[k] === "string") data[k] = splitLines(data[k] as string);
    }
  }
  return JSON.stringify(sortKeys(copy), null, 1) + "\n";
}

/** Write `nb` to `file` (folders created). */
export function writeNotebook(file: string, nb: Notebook): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, serializeNotebook(nb));
}

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
let validator: Validator | undefined;

/**
 * Check `nb` against the nbformat v4 schema (validated in its on-disk form); returns the problems,
 * each naming the JSON path, or [] when valid.
 */
export function validateNotebook(nb: Notebook): string[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "nbformat.v4.schema.json"), "utf8")) as object;
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema) as Validator;
  }
  if (validator(JSON.parse(serializeNotebook(nb)))) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.message ?? "invalid"}`);
}
