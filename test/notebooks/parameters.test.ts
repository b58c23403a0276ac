import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cellSource, cellTags, Notebook, NotebookUsageError, parseInputNotebook } from "../../lib/notebooks/notebookJson";
import {
  declaredParameters,
  injectParameters,
  injectParametersInto,
  literalKind,
  notebookParameters,
  parseParameterArgument,
  parseParameterValue,
} from "../../lib/notebooks/parameters";

function notebook(sources: Array<{ src: string; tags?: string[]; type?: "code" | "markdown" }>): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "fedtune-ts" } },
    cells: sources.map((s, i) => ({ cell_type: s.type ?? "code", id: `c${i}`, source: s.src, metadata: s.tags ? { tags: s.tags } : {}, outputs: [], execution_count: null })),
  };
}

test("parseParameterValue types numbers, booleans, JSON and falls back to the text", () => {
  assert.equal(parseParameterValue("50"), 50);
  assert.equal(parseParameterValue("-0.25"), -0.25);
  assert.equal(parseParameterValue("1e-3"), 0.001);
  assert.equal(parseParameterValue("true"), true);
  assert.equal(parseParameterValue("null"), null);
  assert.deepEqual(parseParameterValue("[0.1, 0.5]"), [0.1, 0.5]);
  assert.deepEqual(parseParameterValue('{"mu": 0.01}'), { mu: 0.01 });
  assert.equal(parseParameterValue('"quoted"'), "quoted");
  assert.equal(parseParameterValue("mnist"), "mnist");
  // against a string default the text stays a string
  assert.equal(parseParameterValue("42", "string"), "42");
  assert.equal(parseParameterValue('"x y"', "string"), "x y");
});

test("parseParameterArgument splits at the first = and checks the name", () => {
  assert.deepEqual(parseParameterArgument("ROUNDS=50"), { name: "ROUNDS", text: "50" });
  assert.deepEqual(parseParameterArgument("Q=a=b"), { name: "Q", text: "a=b" });
  assert.throws(() => parseParameterArgument("ROUNDS"), /--param needs NAME=VALUE, got "ROUNDS"/);
  assert.throws(() => parseParameterArgument("=3"), /NAME=VALUE/);
  assert.throws(() => parseParameterArgument("1X=3"), /"1X" is not a variable name/);
});

test("literalKind recognises literal defaults and leaves expressions alone", () => {
  assert.equal(literalKind("10"), "number");
  assert.equal(literalKind("1_000"), "number");
  assert.equal(literalKind("-1.5e-3"), "number");
  assert.equal(literalKind('"a"'), "string");
  assert.equal(literalKind("'a'"), "string");
  assert.equal(literalKind("`a`"), "string");
  assert.equal(literalKind("false"), "boolean");
  assert.equal(literalKind("[0.1, 0.5, 100]"), "array");
  assert.equal(literalKind("[1, 2,]"), "array");
  assert.equal(literalKind("{ epochs: 1 }"), "object");
  assert.equal(literalKind('"a" as const'), "string");
  assert.equal(literalKind("Math.min(3, 4)"), undefined);
  assert.equal(literalKind("ROUNDS * 2"), undefined);
});

test("declaredParameters finds every top-level declaration, with keyword and type", () => {
  const src = [
    "// sizes for a quick run",
    "const SEED = 4;",
    "const ROUNDS = 10, NUM = 5; // two at once",
    'let MODE: "fast" | "full" = "fast"',
    "var ALPHAS = [",
    "  0.1, 0.5,  // comment with const FAKE = 1",
    "  100,",
    "];",
    "const FIT = { epochs: 1, batchSize: 16 }",
    'const NAME = "a;b,c"',
    "const LIMIT: Record<string, number> = { a: 1, b: 2 };",
    "for (const i of [1]) { const INNER = i; }",
    "/* const HIDDEN = 2 */",
    "const SUM = SEED",
    "  + ROUNDS;",
  ].join("\n");
  const d = declaredParameters(src);
  assert.deepEqual(
    d.map((x) => [x.name, x.keyword, x.type, x.initializer, x.kind]),
    [
      ["SEED", "const", undefined, "4", "number"],
      ["ROUNDS", "const", undefined, "10", "number"],
      ["NUM", "const", undefined, "5", "number"],
      ["MODE", "let", '"fast" | "full"', '"fast"', "string"],
      ["ALPHAS", "var", undefined, "[\n  0.1, 0.5,  // comment with const FAKE = 1\n  100,\n]", "array"],
      ["FIT", "const", undefined, "{ epochs: 1, batchSize: 16 }", "object"],
      ["NAME", "const", undefined, '"a;b,c"', "string"],
      ["LIMIT", "const", "Record<string, number>", "{ a: 1, b: 2 }", "object"],
      ["SUM", "const", undefined, "SEED\n  + ROUNDS", undefined],
    ],
  );
});

test("declaredParameters rejects destructuring with an error naming the file", () => {
  assert.throws(() => declaredParameters("const { a } = obj;", "nb.ipynb"), (e: unknown) => e instanceof NotebookUsageError && /nb\.ipynb: the parameters cell must declare plain names/.test(e.message));
});

const nb = notebook([
  { src: "# Title", type: "markdown" },
  { src: "const SEED = 4;\nconst ROUNDS = 10;\nconst FULL = false;\nlet DATASET = \"digits\";\nconst ALPHAS = [0.1, 0.5];", tags: ["parameters"] },
  { src: "console.log(ROUNDS);" },
]);

test("injectParameters adds a tagged cell right after the parameters cell, keeping keywords", () => {
  const out = injectParameters(nb, ["ROUNDS=50", "FULL=true", "DATASET=42", "ALPHAS=[0.3]"].map(parseParameterArgument), "x.ipynb");
  assert.equal(out.cells.length, 4);
  assert.deepEqual(cellTags(out.cells[2]), ["injected-parameters"]);
  assert.equal(out.cells[2].cell_type, "code");
  assert.equal(
    cellSource(out.cells[2]),
    [
      "// Injected by `fedtune notebooks --param`: these values replace the defaults above.",
      "const ROUNDS = 50;",
      "const FULL = true;",
      'let DATASET = "42";',
      "const ALPHAS = [0.3];",
    ].join("\n"),
  );
  assert.equal(cellSource(out.cells[3]), "console.log(ROUNDS);");
  // the input is not changed
  assert.equal(nb.cells.length, 3);
  // injecting again replaces the previous injected cell
  const again = injectParameters(out, [parseParameterArgument("SEED=1")], "x.ipynb");
  assert.equal(again.cells.length, 4);
  assert.equal(cellSource(again.cells[2]).split("\n")[1], "const SEED = 1;");
  // no parameters: the notebook unchanged (and a stale injected cell removed)
  assert.equal(injectParameters(out, [], "x.ipynb").cells.length, 3);
});

test("unknown parameter, wrong kind, missing or doubled parameters cell: errors name file and parameter", () => {
  const p = (s: string) => [parseParameterArgument(s)];
  assert.throws(() => injectParameters(nb, p("ROUND=5"), "x.ipynb"), { name: "NotebookUsageError", message: "x.ipynb: unknown parameter ROUND; its parameters cell (cell 2) declares SEED, ROUNDS, FULL, DATASET, ALPHAS" });
  assert.throws(() => injectParameters(nb, p("ROUNDS=1O"), "x.ipynb"), { message: "x.ipynb: --param ROUNDS=1O: the default (10) is a number, got a string" });
  assert.throws(() => injectParameters(nb, p("FULL=1"), "x.ipynb"), /the default \(false\) is a boolean, got a number/);
  assert.throws(() => injectParameters(nb, [...p("SEED=1"), ...p("SEED=2")], "x.ipynb"), /--param SEED given twice/);
  const none = notebook([{ src: "const A = 1;" }]);
  assert.throws(() => injectParameters(none, p("A=2"), "y.ipynb"), /y\.ipynb: --param A given, but no cell is tagged "parameters"/);
  const two = notebook([{ src: "const A = 1;", tags: ["parameters"] }, { src: "const B = 1;", tags: ["parameters"] }]);
  assert.throws(() => injectParameters(two, p("A=2"), "z.ipynb"), /z\.ipynb: 2 cells are tagged "parameters" \(cells 1, 2\)/);
});

test("every fedtune notebook has one parameters cell declaring SEED and its sizes as literals", () => {
  const dir = path.join(__dirname, "..", "..", "notebooks");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb"));
  assert.equal(files.length, 8);
  for (const f of files) {
    const book = parseInputNotebook(fs.readFileSync(path.join(dir, f), "utf8"), f);
    const params = notebookParameters(book, f);
    assert.ok(params.some((d) => d.name === "SEED"), `${f}: SEED is a parameter`);
    assert.ok(params.length >= 2, `${f}: at least one sizing parameter besides SEED`);
    for (const d of params) assert.notEqual(d.kind, undefined, `${f}: ${d.name} has a literal default`);
  }
});

test("injectParametersInto gives each notebook the parameters it declares; a name none declares is an error", () => {
  const other = notebook([{ src: "const SEED = 1;\nconst HOSPITALS = 8;", tags: ["parameters"] }, { src: "1" }]);
  const plain = notebook([{ src: "1" }]);
  const out = injectParametersInto(
    [
      { file: "a.ipynb", notebook: nb },
      { file: "b.ipynb", notebook: other },
      { file: "c.ipynb", notebook: plain },
    ],
    ["ROUNDS=3", "SEED=9"].map(parseParameterArgument),
  );
  assert.deepEqual(
    out.map((o) => o.parameters),
    [["ROUNDS=3", "SEED=9"], ["SEED=9"], []],
  );
  assert.equal(cellSource(out[0].notebook.cells[2]).split("\n").slice(1).join("\n"), "const ROUNDS = 3;\nconst SEED = 9;");
  assert.equal(cellSource(out[1].notebook.cells[1]).split("\n").slice(1).join("\n"), "const SEED = 9;");
  assert.equal(out[2].notebook.cells.length, 1);
  assert.throws(
    () => injectParametersInto([{ file: "a.ipynb", notebook: nb }, { file: "c.ipynb", notebook: plain }], [parseParameterArgument("ROUDNS=3")]),
    {
      name: "NotebookUsageError",
      message: "unknown parameter ROUDNS: not declared in the parameters cell of any of the 2 notebooks; declared:\n  a.ipynb: SEED, ROUNDS, FULL, DATASET, ALPHAS\n  c.ipynb: (no cell tagged parameters)",
    },
  );
  assert.throws(() => injectParametersInto([{ file: "b.ipynb", notebook: other }], [parseParameterArgument("HOSPITALS=many")]), /b\.ipynb: --param HOSPITALS=many: the default \(8\) is a number, got a string/);
});
