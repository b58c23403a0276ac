/**
 * Config errors a person can act on: each problem names the field by its path
 * (`federation.strategy.name`), says what was wrong with the value it got, and lists what is
 * allowed there (the allowed values of an enum, the allowed fields of an object), with a
 * "did you mean" for near misses. zod's raw messages ("Invalid enum value…") are rewritten here.
 */
import { z } from "zod";
import { describeType, objectFields, objectSchemaAt, valueAtPath } from "./schemaIntrospection";

/** One problem in a config. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. "data.partitioner.alpha" ("(top level)" for the root). */
  readonly path: string;
  /** What is wrong, in a sentence. */
  readonly message: string;
}

/** A config that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  /** Every problem, in document order. */
  readonly issues: readonly ConfigIssue[];
  /** The file (or "config") the problems are in. */
  readonly source: string;

  /** Build the error; its message lists every issue on its own line. `what` names the kind of config (default "experiment config"). */
  constructor(source: string, issues: readonly ConfigIssue[], what = "experiment config") {
    const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
    super(`invalid ${what} ${source}:\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.source = source;
    this.issues = issues;
  }
}

/** `a.b[2].c` from ["a", "b", 2, "c"]. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return "(top level)";
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** Edit distance (Levenshtein), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest of `options` to `value` if it is a plausible typo, else undefined. */
export function closest(value: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = o.toLowerCase() === value.toLowerCase() ? 0 : editDistance(value.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

/** A value, shortened, for a message. */
export function showValue(v: unknown): string {
  if (v === undefined) return "nothing";
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + "…" : s;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  return typeof v;
}

const didYouMean = (value: unknown, options: readonly string[]): string => {
  if (typeof value !== "string") return "";
  const c = closest(value, options);
  return c !== undefined && c !== value ? ` (did you mean "${c}"?)` : "";
};

function boundMessage(issue: z.ZodTooSmallIssue | z.ZodTooBigIssue, value: unknown): string {
  const small = issue.code === z.ZodIssueCode.too_small;
  const bound = Number(small ? (issue as z.ZodTooSmallIssue).minimum : (issue as z.ZodTooBigIssue).maximum);
  if (issue.type === "array") return `needs ${small ? "at least" : "at most"} ${bound} entr${bound === 1 ? "y" : "ies"}, got ${showValue(value)}`;
  if (issue.type === "string") return small ? `must have at least ${bound} character(s), got ${showValue(value)}` : `must have at most ${bound} characters`;
  const op = small ? (issue.inclusive ? "≥" : ">") : issue.inclusive ? "≤" : "<";
  return `must be ${op} ${bound}, got ${showValue(value)}`;
}

/** The schema of the field at `path` (looked up in its parent object), if the path is inside an object. */
function fieldSchemaAt(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>, raw: unknown): z.ZodTypeAny | undefined {
  const last = path[path.length - 1];
  if (typeof last !== "string") return undefined;
  const parent = objectSchemaAt(schema, path.slice(0, -1), raw);
  const shape = parent ? (parent.shape as Record<string, z.ZodTypeAny>) : undefined;
  return shape && Object.prototype.hasOwnProperty.call(shape, last) ? shape[last] : undefined;
}

/** Turn a zod error on `raw` into issues with paths, values and allowed values (`schema` is consulted for allowed fields). */
export function configIssuesFromZod(error: z.ZodError, raw: unknown, schema: z.ZodTypeAny): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  const push = (path: ReadonlyArray<string | number>, message: string): void => {
    const key = `${formatPath(path)}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ path: formatPath(path), message });
  };
  for (const issue of error.issues) {
    const value = valueAtPath(raw, issue.path);
    switch (issue.code) {
      case z.ZodIssueCode.unrecognized_keys: {
        const obj = objectSchemaAt(schema, issue.path, raw);
        const allowed = obj ? objectFields(obj) : [];
        for (const key of issue.keys) {
          push([...issue.path, key], `unknown field${didYouMean(key, allowed)}; allowed fields${issue.path.length ? ` of ${formatPath(issue.path)}` : ""}: ${allowed.join(", ")}`);
        }
        break;
      }
      case z.ZodIssueCode.invalid_enum_value: {
        const options = issue.options.map(String);
        push(issue.path, `${showValue(value)} is not allowed${didYouMean(value, options)}; allowed values: ${options.join(", ")}`);
        break;
      }
      case z.ZodIssueCode.invalid_union_discriminator: {
        const options = issue.options.map(String);
        const what = value === undefined ? "is required" : `${showValue(value)} is not allowed${didYouMean(value, options)}`;
        push(issue.path, `${what}; allowed values: ${options.join(", ")}`);
        break;
      }
      case z.ZodIssueCode.invalid_literal:
        push(issue.path, `must be ${showValue(issue.expected)}, got ${showValue(value)}`);
        break;
      case z.ZodIssueCode.invalid_type: {
        const field = fieldSchemaAt(schema, issue.path, raw);
        const expected = field ? describeType(field) : issue.expected === "object" ? "an object" : issue.expected;
        if (issue.received === "undefined") push(issue.path, `is required; allowed: ${expected}`);
        else push(issue.path, `expected ${expected}, got ${typeName(value)}${value === null ? "" : " " + showValue(value)}`);
        break;
      }
      case z.ZodIssueCode.too_small:
      case z.ZodIssueCode.too_big:
        push(issue.path, boundMessage(issue, value));
        break;
      case z.ZodIssueCode.invalid_union: {
        const field = fieldSchemaAt(schema, issue.path, raw);
        push(issue.path, `got ${typeName(value)} ${showValue(value)}; expected ${field ? describeType(field) : "another type"}`);
        break;
      }
      default:
        // Custom cross-field checks and string patterns already speak in sentences.
        push(issue.path, issue.path.length && value !== undefined && issue.code === z.ZodIssueCode.invalid_string ? `${showValue(value)} ${issue.message}` : issue.message);
    }
  }
  return out;
}
