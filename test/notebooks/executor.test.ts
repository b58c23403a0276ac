/**
 * The Node notebook executor against the real tslab kernel (started from jupyter/kernels/fedtune-ts):
 * outputs as nbclient records them, display updates, failures named with their cell, timeouts, a
 * clean shutdown, and the backend line as ordinary output.
 */
import assert from "node:assert/strict";
import * as path from "path";
import { test } from "node:test";
import { executeNotebook, ExecutedNotebook, validateNotebook } from "../../lib/notebooks/index";

const ROOT = path.resolve(__dirname, "..", "..");
const fixture = (name: string): string => path.join(__dirname, "fixtures", `${name}.ipynb`);
const run = (name: string, cellTimeoutMs?: number): Promise<ExecutedNotebook> =>
  executeNotebook(fixture(name), { cwd: ROOT, projectRoot: ROOT, cellTimeoutMs, env: { FEDTUNE_QUIET: "0", FEDTUNE_BACKEND: "" } });

function outputsOf(r: ExecutedNotebook, id: string): unknown[] {
  const cell = r.notebook.cells.find((c) => c.id === id);
  assert.ok(cell, id);
  return cell.outputs ?? [];
}

test("streams, display data and display updates are recorded as nbclient records them; the notebook is valid nbformat 4", async () => {
  const r = await run("features");
  assert.equal(r.ok, true, r.failed?.message);
  assert.deepEqual(
    r.cells.map((c) => [c.id, c.status, c.executionCount]),
    [
      ["streams", "ok", 1],
      ["html", "ok", 2],
      ["show", "ok", 3],
      ["update", "ok", 4],
      ["backend", "ok", 5],
      ["end", "ok", 6],
    ],
  );
  // Consecutive stream messages of one name merge; a different stream in between splits them.
  assert.deepEqual(outputsOf(r, "streams"), [
    { output_type: "stream", name: "stdout", text: "line 1\nline 2\n" },
    { output_type: "stream", name: "stderr", text: "a warning\n" },
    { output_type: "stream", name: "stdout", text: "after\n" },
  ]);
  // tslab prints a cell's last value on stdout (it sends no execute_result).
  assert.deepEqual(outputsOf(r, "html"), [
    { output_type: "display_data", data: { "text/html": "<b>bold &amp; safe</b>" }, metadata: {} },
    { output_type: "stream", name: "stdout", text: "42\n" },
  ]);
  // update_display_data in a later cell rewrites the earlier output carrying that display_id.
  assert.deepEqual(outputsOf(r, "show"), [{ output_type: "display_data", data: { "text/plain": "version 2" }, metadata: {} }]);
  assert.deepEqual(outputsOf(r, "update"), []);
  // The backend line is ordinary output in a notebook (no red stderr box).
  const backend = outputsOf(r, "backend") as { name?: string; text?: string }[];
  assert.equal(backend.length, 1);
  assert.equal(backend[0].name, "stdout");
  assert.match(backend[0].text ?? "", /^fedtune: backend cpu — forced by initBackend/);
  assert.deepEqual(outputsOf(r, "end"), [{ output_type: "stream", name: "stdout", text: "done: cpu\n" }]);
  assert.deepEqual(validateNotebook(r.notebook), []);
  assert.deepEqual((r.notebook.metadata.language_info as { name: string }).name, "typescript");
  // Clean shutdown: the kernel exits by itself with 0 and writes nothing to its own stderr
  // (before: "Error: Socket is closed" from tslab's jupyter.js).
  assert.deepEqual(r.kernelExit, { code: 0, signal: null });
  assert.equal(r.kernelLog, "");
});

test("a compile error stops the notebook at its cell, with the message; later cells do not run", async () => {
  const r = await run("compile-error");
  assert.equal(r.ok, false);
  assert.equal(r.failed?.id, "bad");
  assert.equal(r.failed?.status, "error");
  assert.match(r.failed?.message ?? "", /Type 'string' is not assignable to type 'number'/);
  assert.deepEqual(r.cells.map((c) => c.id), ["ok", "bad"]);
  assert.equal(r.notebook.cells[2].execution_count, null);
  assert.deepEqual(r.notebook.cells[2].outputs, []);
  assert.deepEqual(validateNotebook(r.notebook), []);
  assert.deepEqual(r.kernelExit, { code: 0, signal: null });
});

test("a runtime error names the thrown message", async () => {
  const r = await run("runtime-error");
  assert.equal(r.ok, false);
  assert.equal(r.failed?.id, "throws");
  assert.match(r.failed?.message ?? "", /boom in a cell/);
  assert.deepEqual(r.kernelExit, { code: 0, signal: null });
});

test("a cell over its timeout fails as a timeout and the kernel is stopped", async () => {
  const t0 = Date.now();
  const r = await run("slow", 3_000);
  assert.equal(r.ok, false);
  assert.equal(r.failed?.status, "timeout");
  assert.match(r.failed?.message ?? "", /timed out after 3 s/);
  assert.ok(r.kernelExit, "the kernel process is gone");
  assert.ok(Date.now() - t0 < 100_000, "did not wait for the cell's 120 s");
});
