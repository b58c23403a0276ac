/**
 * Papermill-style parameters for TypeScript notebooks. A code cell tagged `parameters` declares
 * the defaults (`const ROUNDS = 6;`); `--param ROUNDS=50` injects a cell right after it, tagged
 * `injected-parameters`, that declares the same names again with the new values.
 *
 * Why a redeclaration works: tslab lets a later cell redeclare a top-level `const`/`let`/`var`, and
 * every later cell then sees the new value (checked with the real kernel in
 * test/notebooks/kernel.test.ts). The injected cell keeps the default's keyword (a `let` the
 * notebook reassigns stays assignable) and its type annotation (a union type stays a union).
 * A function defined in the parameters cell itself would keep the old value, as in papermill:
 * the parameters cell should hold values only.
 */
import { cellSource, cellTags, Notebook, NotebookCell, NotebookUsageError } from "./notebookJson";

/** The tag of the cell holding the defaults (papermill's name). */
export const PARAMETERS_TAG = "parameters";
/** The tag of the cell the injection adds (papermill's name). */
export const INJECTED_TAG = "injected-parameters";

/** A JSON value a parameter can take. */
export type ParameterValue = number | string | boolean | null | ParameterValue[] | { [key: string]: ParameterValue };

/** The kind of a value, used to check a new value against its default. */
export type ParameterKind = "number" | "string" | "boolean" | "null" | "array" | "object";

/** One top-level declaration of the parameters cell. */
export interface ParameterDeclaration {
  readonly name: string;
  readonly keyword: "const" | "let" | "var";
  /** The type annotation as written (without the colon), if any. */
  readonly type?: string;
  /** The initializer as written, trimmed ("" when there is none). */
  readonly initializer: string;
  /** The kind of the default when it is a literal; undefined for an expression. */
  readonly kind?: ParameterKind;
}

/** One `--param NAME=VALUE`, parsed. */
export interface ParameterAssignment {
  readonly name: string;
  /** The text after "=", as given. */
  readonly text: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Parse `NAME=VALUE` (the value is typed later, against its default). */
export function parseParameterArgument(arg: string): ParameterAssignment {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new NotebookUsageError(`--param needs NAME=VALUE, got "${arg}"`);
  const name = arg.slice(0, eq).trim();
  if (!IDENTIFIER.test(name)) throw new NotebookUsageError(`--param: "${name}" is not a variable name`);
  return { name, text: arg.slice(eq + 1) };
}

/** The kind of a JSON value. */
export function valueKind(v: ParameterValue): ParameterKind {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v as "number" | "string" | "boolean" | "object";
}

/**
 * Type a `--param` value: JSON when it parses (numbers, booleans, null, arrays, objects, "quoted
 * strings"), otherwise the text as a string. Against a string default, the text is always taken as
 * the string (`--param NAME=42` gives "42").
 */
export function parseParameterValue(text: string, defaultKind?: ParameterKind): ParameterValue {
  if (defaultKind === "string") {
    try {
      const v = JSON.parse(text) as ParameterValue;
      if (typeof v === "string") return v;
    } catch {
      // not JSON: the text itself
    }
    return text;
  }
  try {
    return JSON.parse(text) as ParameterValue;
  } catch {
    return text;
  }
}

/** The kind of a default written in TypeScript, when it is a literal. */
export function literalKind(initializer: string): ParameterKind | undefined {
  const s = initializer.replace(/\s+as\s+const\s*$/, "").trim();
  if (s === "") return undefined;
  if (/^(['"`])/.test(s)) {
    // A template literal with ${…} is an expression of type string all the same.
    const q = s[0];
    return s.endsWith(q) && s.length >= 2 ? "string" : undefined;
  }
  if (s === "true" || s === "false") return "boolean";
  if (s === "null") return "null";
  if (/^[-+]?(\d[\d_]*\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|0x[\da-f]+|Infinity)$/i.test(s)) return "number";
  try {
    return valueKind(JSON.parse(s) as ParameterValue);
  } catch {
    // An array or object literal that is not JSON (trailing comma, unquoted keys, expressions)
    if (s.startsWith("[") && s.endsWith("]")) return "array";
    if (s.startsWith("{") && s.endsWith("}")) return "object";
    return undefined;
  }
}

/**
 * Blank out comments and the inside of strings (same length, newlines kept), so that brackets,
 * commas and keywords can be found by position.
 */
function maskCode(src: string): string {
  const out = src.split("");
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      blank(i + 1, Math.min(j, src.length));
      i = j + 1;
    } else {
      i++;
    }
  }
  return out.join("");
}

/** Characters that continue an expression onto the next line (no automatic semicolon). */
const CONTINUES = /^[.+\-*/%&|^?:,=<>]/;

/**
 * The top-level `const`/`let`/`var` declarations of a cell's source, in order. Handles several
 * declarators per statement, type annotations, comments, multi-line literals; `file` names the
 * notebook in errors.
 */
export function declaredParameters(source: string, file = "notebook"): ParameterDeclaration[] {
  const masked = maskCode(source);
  const decls: ParameterDeclaration[] = [];
  let depth = 0;
  let i = 0;
  const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\w$]/.test(ch);
  while (i < masked.length) {
    const ch = masked[i];
    if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    const kw = depth === 0 && !isWordChar(masked[i - 1]) ? /^(const|let|var)\s+/.exec(masked.slice(i, i + 8)) : null;
    if (!kw) {
      i++;
      continue;
    }
    const keyword = kw[1] as "const" | "let" | "var";
    i += kw[0].length;
    // declarators: name [: type] [= initializer] {, name …}
    for (;;) {
      const m = /^\s*([A-Za-z_$][\w$]*)/.exec(masked.slice(i));
      if (!m) {
        const what = masked.slice(i).trim().split("\n")[0];
        throw new NotebookUsageError(`${file}: the parameters cell must declare plain names (${keyword} NAME = value), got "${keyword} ${what}"`);
      }
      const name = m[1];
      i += m[0].length;
      let type: string | undefined;
      let initializer = "";
      let d = 0;
      let start = i;
      let part: "type" | "init" | "none" = "none";
      let end = i;
      for (; end <= masked.length; end++) {
        const c = masked[end];
        if (c === undefined) break;
        if (d === 0 && part === "none" && c === ":") {
          part = "type";
          start = end + 1;
          continue;
        }
        if (d === 0 && c === "=" && masked[end + 1] !== ">" && masked[end + 1] !== "=" && masked[end - 1] !== "=" && masked[end - 1] !== "!" && masked[end - 1] !== "<" && masked[end - 1] !== ">") {
          if (part === "type") type = source.slice(start, end).trim();
          part = "init";
          start = end + 1;
          continue;
        }
        if ("([{<".includes(c) && !(c === "<" && part === "init")) d++;
        else if (")]}>".includes(c) && !(c === ">" && (part === "init" || masked[end - 1] === "="))) d--;
        if (d < 0) break;
        if (d === 0 && (c === ";" || c === ",")) break;
        if (d === 0 && c === "\n") {
          const sofar = masked.slice(start, end).trim();
          const next = masked.slice(end).trimStart();
          if ((sofar !== "" || part === "none") && !CONTINUES.test(next) && !/[.+\-*/%&|^?:,=<>]$/.test(sofar)) break;
        }
      }
      if (part === "type") type = source.slice(start, end).trim();
      if (part === "init") initializer = source.slice(start, end).trim();
      decls.push({ name, keyword, type, initializer, kind: literalKind(initializer) });
      i = end;
      if (masked[i] === ",") {
        i++;
        continue;
      }
      break;
    }
  }
  return decls;
}

/** Index of the cell tagged `parameters`, or -1; more than one is an error naming the file. */
export function parametersCellIndex(nb: Notebook, file: string): number {
  const found = nb.cells.map((c, i) => (cellTags(c).includes(PARAMETERS_TAG) ? i : -1)).filter((i) => i >= 0);
  if (found.length > 1) throw new NotebookUsageError(`${file}: ${found.length} cells are tagged "${PARAMETERS_TAG}" (cells ${found.map((i) => i + 1).join(", ")}); tag one`);
  if (found.length === 1 && nb.cells[found[0]].cell_type !== "code") throw new NotebookUsageError(`${file}: cell ${found[0] + 1} is tagged "${PARAMETERS_TAG}" but is not a code cell`);
  return found.length === 1 ? found[0] : -1;
}

/** The parameters a notebook declares (empty when it has no parameters cell). */
export function notebookParameters(nb: Notebook, file: string): ParameterDeclaration[] {
  const at = parametersCellIndex(nb, file);
  return at < 0 ? [] : declaredParameters(cellSource(nb.cells[at]), file);
}

/** TypeScript source declaring `value` under `decl`'s name, keyword and type annotation. */
export function declarationSource(decl: ParameterDeclaration, value: ParameterValue): string {
  return `${decl.keyword} ${decl.name}${decl.type ? `: ${decl.type}` : ""} = ${JSON.stringify(value)};`;
}

/** The values of `assignments`, typed and checked against the declarations of `nb`'s parameters cell. */
export function resolveParameters(nb: Notebook, assignments: readonly ParameterAssignment[], file: string): Array<{ decl: ParameterDeclaration; value: ParameterValue }> {
  if (assignments.length === 0) return [];
  const at = parametersCellIndex(nb, file);
  if (at < 0) {
    throw new NotebookUsageError(`${file}: --param ${assignments.map((a) => a.name).join(", ")} given, but no cell is tagged "${PARAMETERS_TAG}" (add the tag to the cell holding the defaults)`);
  }
  const decls = declaredParameters(cellSource(nb.cells[at]), file);
  const byName = new Map(decls.map((d) => [d.name, d]));
  const seen = new Set<string>();
  return assignments.map((a) => {
    const decl = byName.get(a.name);
    if (!decl) {
      const known = decls.map((d) => d.name).join(", ") || "nothing";
      throw new NotebookUsageError(`${file}: unknown parameter ${a.name}; its parameters cell (cell ${at + 1}) declares ${known}`);
    }
    if (seen.has(a.name)) throw new NotebookUsageError(`${file}: --param ${a.name} given twice`);
    seen.add(a.name);
    const value = parseParameterValue(a.text, decl.kind);
    const kind = valueKind(value);
    if (decl.kind !== undefined && decl.kind !== "null" && kind !== decl.kind) {
      throw new NotebookUsageError(`${file}: --param ${a.name}=${a.text}: the default (${decl.initializer}) is a ${decl.kind}, got a ${kind}`);
    }
    return { decl, value };
  });
}

/**
 * A copy of `nb` with a cell tagged `injected-parameters` after its parameters cell that
 * redeclares each assigned name with its new value. A previous injected cell is replaced. Errors
 * (no parameters cell, unknown name, wrong kind) name the file and the parameter.
 */
export function injectParameters(nb: Notebook, assignments: readonly ParameterAssignment[], file: string): Notebook {
  const resolved = resolveParameters(nb, assignments, file);
  const cells = nb.cells.filter((c) => !cellTags(c).includes(INJECTED_TAG));
  if (resolved.length === 0) return { ...nb, cells };
  const at = cells.findIndex((c) => cellTags(c).includes(PARAMETERS_TAG));
  const source = ["// Injected by `fedtune notebooks --param`: these values replace the defaults above.", ...resolved.map((r) => declarationSource(r.decl, r.value))].join("\n");
  const cell: NotebookCell = {
    cell_type: "code",
    execution_count: null,
    metadata: { tags: [INJECTED_TAG] },
    outputs: [],
    source,
  };
  if (nb.nbformat_minor >= 5) cell.id = `injected-parameters`;
  return { ...nb, cells: [...cells.slice(0, at + 1), cell, ...cells.slice(at + 1)] };
}

/**
 * Parameters for several notebooks at once: each `--param` goes to every notebook whose parameters
 * cell declares it (`--param ROUNDS=3` shortens every notebook that has ROUNDS). A name that no
 * notebook declares is an error listing what they do declare; a wrong kind is an error naming the
 * notebook. Returns the notebooks with their injected cells and the `NAME=VALUE` texts each got.
 */
export function injectParametersInto(
  notebooks: ReadonlyArray<{ file: string; notebook: Notebook }>,
  assignments: readonly ParameterAssignment[],
): Array<{ file: string; notebook: Notebook; parameters: string[] }> {
  const names = new Set<string>();
  for (const a of assignments) {
    if (names.has(a.name)) throw new NotebookUsageError(`--param ${a.name} given twice`);
    names.add(a.name);
  }
  const declared = notebooks.map(({ file, notebook }) => new Set(notebookParameters(notebook, file).map((d) => d.name)));
  const unknown = assignments.filter((a) => !declared.some((d) => d.has(a.name)));
  if (unknown.length > 0) {
    const lists = notebooks.map(({ file }, i) => `  ${file}: ${[...declared[i]].join(", ") || "(no cell tagged parameters)"}`);
    const which = notebooks.length === 1 ? notebooks[0].file : `any of the ${notebooks.length} notebooks`;
    throw new NotebookUsageError(`unknown parameter ${unknown.map((a) => a.name).join(", ")}: not declared in the parameters cell of ${which}; declared:\n${lists.join("\n")}`);
  }
  return notebooks.map(({ file, notebook }, i) => {
    const mine = assignments.filter((a) => declared[i].has(a.name));
    return { file, notebook: injectParameters(notebook, mine, file), parameters: mine.map((a) => `${a.name}=${a.text}`) };
  });
}
