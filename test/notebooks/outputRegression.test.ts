import { test } from "node:test";
import assert from "node:assert/strict";
import { Notebook } from "../../lib/notebooks/notebookJson";
import { compareFigure, compareWithReference, compareText, DEFAULT_TOLERANCE, numbersMatch, withoutDurations } from "../../lib/notebooks/outputRegression";

const tol = { rtol: 1e-3, atol: 1e-9 };

test("numbersMatch: |a − e| ≤ atol + rtol·|e|; NaN only matches NaN", () => {
  assert.ok(numbersMatch(1.0009, 1, tol));
  assert.ok(!numbersMatch(1.0011, 1, tol));
  assert.ok(numbersMatch(0, 0, DEFAULT_TOLERANCE));
  assert.ok(!numbersMatch(1e-9, 0, DEFAULT_TOLERANCE));
  assert.ok(numbersMatch(NaN, NaN, tol));
  assert.ok(!numbersMatch(NaN, 0, tol));
  assert.ok(numbersMatch(Infinity, Infinity, tol));
  assert.ok(!numbersMatch(-Infinity, Infinity, tol));
});

test("withoutDurations hides times and throughputs, keeps other numbers", () => {
  assert.equal(withoutDurations("2 epochs in 12.3 s (850 samples/s on wasm), 40ms, 3 samples"), "2 epochs in <duration> (<duration> on wasm), <duration>, 3 samples");
});

test("compareText: words exactly, numbers within tolerance, differences by line", () => {
  assert.deepEqual(compareText("acc 0.8124\nround 3 in 5.1 s\n", "acc 0.8120\nround 3 in 9.9 s\n", tol), []);
  assert.deepEqual(compareText("acc 0.8200\nloss 1", "acc 0.8120\nloss 1", tol), ['line 1: 0.8120 → 0.8200 (in "acc 0.8120")']);
  assert.deepEqual(compareText("acc 0.8", "loss 0.8", tol), ['line 1: "acc 0.8", the reference has "loss 0.8"']);
  assert.deepEqual(compareText("a\nb", "a", tol), ["2 line(s), the reference has 1"]);
  // a markdown table whose column widths change with the numbers still matches
  assert.deepEqual(compareText("|a|b|\n|-:|-:|\n|1|0.5001|", "|a|b|\n|-:|-:|\n|1|0.5|", tol), []);
});

test("compareFigure compares trace data element by element", () => {
  const e = { data: [{ type: "scatter", name: "p1", x: [1, 2, 3], y: [0.5, 0.6, 0.7] }] };
  assert.deepEqual(compareFigure({ data: [{ type: "scatter", name: "p1", x: [1, 2, 3], y: [0.5, 0.6004, 0.7] }] }, e, tol, "chart 1"), []);
  assert.deepEqual(compareFigure({ data: [{ type: "scatter", name: "p1", x: [1, 2, 3], y: [0.5, 0.65, 0.7] }] }, e, tol, "chart 1"), ['chart 1, trace 1 "p1", y[1]: 0.6 → 0.65']);
  assert.deepEqual(compareFigure({ data: [{ type: "bar", name: "p1", x: [1, 2], y: [0.5, 0.6] }] }, e, tol, "chart 1"), [
    'chart 1, trace 1 "p1", type: "scatter" → "bar"',
    'chart 1, trace 1 "p1", x: 2 value(s), the reference has 3',
    'chart 1, trace 1 "p1", y: 2 value(s), the reference has 3',
  ]);
  assert.deepEqual(compareFigure({ data: [] }, e, tol, "chart 2"), ["chart 2: 0 trace(s), the reference has 1"]);
});

function book(cells: Array<{ id?: string; src?: string; tags?: string[]; outputs: object[] }>): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", source: "# t", metadata: {} },
      ...cells.map((c, i) => ({ cell_type: "code" as const, id: c.id, source: c.src ?? `cell${i}`, metadata: c.tags ? { tags: c.tags } : {}, execution_count: i + 1, outputs: c.outputs as never })),
    ],
  };
}
const out = (text: string) => ({ output_type: "stream", name: "stdout", text });
const err = (text: string) => ({ output_type: "stream", name: "stderr", text });
const fig = (y: number[]) => ({ output_type: "display_data", metadata: {}, data: { "application/vnd.plotly.v1+json": { data: [{ type: "scatter", x: [1, 2], y }] }, "text/html": "<div>", "text/plain": "<Figure: 1 trace(s)>" } });
const table = (md: string) => ({ output_type: "display_data", metadata: {}, data: { "text/html": "<table>", "text/plain": md } });

test("compareWithReference lists differences by cell, skipping stderr, ignored cells and injected parameters", () => {
  const ref = book([
    { id: "a", outputs: [out("accuracy 0.91\n"), err("backend: wasm\n")] },
    { id: "b", outputs: [fig([0.5, 0.6])] },
    { id: "c", outputs: [table("|p|acc|\n|-|-:|\n|x|0.8|")] },
    { id: "d", tags: ["nbval-ignore-output"], outputs: [out("random 17\n")] },
  ]);
  const same = book([
    { id: "a", outputs: [out("accuracy 0.91\n"), err("backend: cpu\n")] },
    { id: "inj", tags: ["injected-parameters"], outputs: [] },
    { id: "b", outputs: [fig([0.5, 0.6])] },
    { id: "c", outputs: [table("|p|acc|\n|-|-:|\n|x|0.8|")] },
    { id: "d", tags: ["nbval-ignore-output"], outputs: [out("random 42\n")] },
  ]);
  assert.deepEqual(compareWithReference(same, ref, tol), []);
  const drift = book([
    { id: "a", outputs: [out("accuracy 0.95\n")] },
    { id: "b", outputs: [fig([0.5, 0.7])] },
    { id: "c", src: "changed", outputs: [table("|p|acc|\n|-|-:|\n|x|0.9|")] },
    { id: "d", outputs: [out("random 42\n")] },
  ]);
  assert.deepEqual(compareWithReference(drift, ref, tol), [
    { cell: 1, message: 'line 1: 0.91 → 0.95 (in "accuracy 0.91")' },
    { cell: 2, message: "chart 1, trace 1, y[1]: 0.6 → 0.7" },
    { cell: 3, message: 'line 3: 0.8 → 0.9 (in "|x|0.8|")' },
    { cell: 3, message: "(the cell's source differs from the reference's)" },
  ]);
});

test("compareWithReference pairs by position without ids and reports a different number of code cells", () => {
  const strip = (n: Notebook): Notebook => ({ ...n, cells: n.cells.map((c) => ({ ...c, id: undefined })) });
  const ref = strip(book([{ outputs: [out("1\n")] }, { outputs: [out("2\n")] }]));
  assert.deepEqual(compareWithReference(strip(book([{ outputs: [out("1\n")] }, { outputs: [out("3\n")] }])), ref, tol), [{ cell: 2, message: 'line 1: 2 → 3 (in "2")' }]);
  assert.deepEqual(compareWithReference(strip(book([{ outputs: [out("1\n")] }])), ref, tol), [{ cell: -1, message: "1 code cell(s), the reference has 2" }]);
  assert.deepEqual(compareWithReference(strip(book([{ outputs: [fig([1, 2]), fig([1, 2])] }, { outputs: [out("2\n")] }])), strip(book([{ outputs: [fig([1, 2])] }, { outputs: [out("2\n")] }])), tol), [
    { cell: 1, message: "2 chart(s), the reference has 1" },
  ]);
});
