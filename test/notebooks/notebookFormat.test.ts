/**
 * Notebook files without Python: written as nbformat writes them, validated against the nbformat 4
 * schema, rendered to HTML whose charts draw in Chromium, and compared across executors (with
 * nbclient itself when Jupyter is installed).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import {
  checkCharts,
  compareOutputs,
  executeNotebook,
  findChromium,
  Notebook,
  OutputCollector,
  parseNotebook,
  readNotebook,
  renderHtml,
  serializeNotebook,
  validateNotebook,
} from "../../lib/notebooks/index";
import type { JupyterMessage } from "../../lib/notebooks/wireMessage";
import { figureHtml, plotlyLoaderHtml } from "../../lib/viz/html";
import { findPython, jupyterEnv } from "../../scripts/jupyter-env";

const ROOT = path.resolve(__dirname, "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-nbformat-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("every committed notebook reads and writes back byte for byte (nbformat's layout) and is valid nbformat 4", () => {
  const files = fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb"));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const text = fs.readFileSync(path.join(ROOT, "notebooks", f), "utf8");
    const nb = parseNotebook(text, f);
    assert.equal(serializeNotebook(nb), text, f);
    assert.deepEqual(validateNotebook(nb), [], f);
  }
});

test("an invalid notebook is reported with the JSON path of each problem", () => {
  const nb = readNotebook(path.join(__dirname, "fixtures", "features.ipynb"));
  nb.cells[1].outputs = [{ output_type: "stream", text: "no name" } as never];
  delete (nb.cells[2] as { execution_count?: unknown }).execution_count;
  const problems = validateNotebook(nb);
  assert.ok(problems.some((p) => p.startsWith("/cells/1/outputs/0")), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("/cells/2") && /execution_count/.test(p)), problems.join("\n"));
  assert.throws(() => parseNotebook("{", "broken.ipynb"), /broken\.ipynb: not valid JSON/);
  assert.throws(() => parseNotebook('{"nbformat": 3, "cells": []}', "old.ipynb"), /old\.ipynb: not an nbformat-4 notebook/);
});

function msg(type: string, content: Record<string, unknown>): JupyterMessage {
  return { header: { msg_id: "m", msg_type: type, session: "s", username: "u", date: "", version: "5.3" }, parent_header: {}, metadata: {}, content };
}

test("coalesceStreams merges consecutive streams of one name only", () => {
  const streams = [
    msg("stream", { name: "stdout", text: "a\n" }),
    msg("stream", { name: "stdout", text: "b\n" }),
    msg("stream", { name: "stderr", text: "c\n" }),
    msg("stream", { name: "stdout", text: "d\n" }),
  ];
  assert.equal(new OutputCollector().outputs(streams).length, 4);
  assert.deepEqual(new OutputCollector({ coalesceStreams: true }).outputs(streams), [
    { output_type: "stream", name: "stdout", text: "a\nb\n" },
    { output_type: "stream", name: "stderr", text: "c\n" },
    { output_type: "stream", name: "stdout", text: "d\n" },
  ]);
});

test("clear_output clears at once, or (wait) at the next output", () => {
  const c = new OutputCollector();
  const out = c.outputs([
    msg("stream", { name: "stdout", text: "gone\n" }),
    msg("clear_output", { wait: false }),
    msg("stream", { name: "stdout", text: "kept\n" }),
    msg("clear_output", { wait: true }),
    msg("display_data", { data: { "text/plain": "last" }, metadata: {} }),
  ]);
  assert.deepEqual(out, [{ output_type: "display_data", data: { "text/plain": "last" }, metadata: {} }]);
});

test("renderHtml: markdown, escaped code, outputs in nbconvert's order, and the charts draw in Chromium", async () => {
  const fig = { data: [{ type: "scatter", x: [1, 2, 3], y: [2, 1, 3], name: "p0" }], layout: { title: { text: "t" } } };
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", id: "a", metadata: {}, source: "# Title\n\nSome *text*." },
      {
        cell_type: "code",
        id: "b",
        metadata: {},
        execution_count: 1,
        source: "if (a < b && c > d) {}",
        outputs: [
          { output_type: "display_data", data: { "text/html": plotlyLoaderHtml() }, metadata: {} },
          { output_type: "display_data", data: { "application/vnd.plotly.v1+json": fig, "text/html": figureHtml(fig as never), "text/plain": "<Figure>" }, metadata: {} },
          { output_type: "display_data", data: { "text/plain": "<plain & only>" }, metadata: {} },
          { output_type: "stream", name: "stderr", text: "\u001b[31mred\u001b[0m warning" },
        ],
      },
    ],
  };
  const html = renderHtml(nb);
  assert.match(html, /<title>Title<\/title>/);
  assert.match(html, /<h1>Title<\/h1>/);
  assert.match(html, /<em>text<\/em>/);
  assert.match(html, /if \(a &lt; b &amp;&amp; c &gt; d\) \{\}/);
  assert.match(html, /<pre>&lt;plain &amp; only&gt;<\/pre>/);
  assert.match(html, /red warning/, "ANSI colours are stripped");
  assert.equal(html.match(/class="fedtune-plot"/g)?.length, 1, "text/html chosen over the plotly JSON, once");
  const file = path.join(dir, "render.html");
  fs.writeFileSync(file, html);
  const browser = await findChromium();
  assert.ok(browser, "a Chromium: the system one or @sparticuz/chromium from the devDependencies");
  const [page] = await checkCharts([file], browser.executablePath);
  assert.deepEqual({ charts: page.charts, drawn: page.drawn, errors: page.errors }, { charts: 1, drawn: 1, errors: [] });
});

test("compareOutputs masks chart ids (pid + clock) and names the cell and place of a real difference", () => {
  const base = readNotebook(path.join(__dirname, "fixtures", "features.ipynb"));
  const a: Notebook = JSON.parse(JSON.stringify(base));
  const b: Notebook = JSON.parse(JSON.stringify(base));
  a.cells[1].outputs = [{ output_type: "display_data", data: { "text/html": '<div id="fedtune-plot-1a2-lz0-0">' }, metadata: {} }];
  b.cells[1].outputs = [{ output_type: "display_data", data: { "text/html": '<div id="fedtune-plot-9zz-m11-0">' }, metadata: {} }];
  assert.deepEqual(compareOutputs(a, b), []);
  b.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "x" }];
  assert.match(compareOutputs(a, b, "node", "nbclient")[0], /^cell 2 \(streams\), output 1: differs at character 2 — node: .*, nbclient: /);
  b.cells[1].outputs = [];
  assert.deepEqual(compareOutputs(a, b, "node", "nbclient"), ["cell 2 (streams): 1 output(s) in node, 0 in nbclient"]);
});

test("compareOutputs joins consecutive streams of one name (flush chunking differs between runs), not streams of different names", () => {
  const base = readNotebook(path.join(__dirname, "fixtures", "features.ipynb"));
  const a: Notebook = JSON.parse(JSON.stringify(base));
  const b: Notebook = JSON.parse(JSON.stringify(base));
  a.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "loss 0.5\nacc 0.9\n" }];
  b.cells[1].outputs = [
    { output_type: "stream", name: "stdout", text: "loss 0." },
    { output_type: "stream", name: "stdout", text: "5\nacc 0.9\n" },
  ];
  assert.deepEqual(compareOutputs(a, b), []);
  b.cells[1].outputs = [
    { output_type: "stream", name: "stdout", text: "loss 0.5\n" },
    { output_type: "stream", name: "stderr", text: "acc 0.9\n" },
  ];
  assert.deepEqual(compareOutputs(a, b, "node", "nbclient"), ["cell 2 (streams): 1 output(s) in node, 2 in nbclient"]);
});

test("compareOutputs ignores wall-clock figures (seen: '2 epochs in 11.3 s (530 samples/s)' vs '10.3 s (582 samples/s)') but not the results beside them", () => {
  const base = readNotebook(path.join(__dirname, "fixtures", "features.ipynb"));
  const a: Notebook = JSON.parse(JSON.stringify(base));
  const b: Notebook = JSON.parse(JSON.stringify(base));
  a.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "2 epochs in 11.3 s (530 samples/s on wasm)\nvalidation accuracy: 90.3 %\n" }];
  b.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "2 epochs in 10.3 s (582 samples/s on wasm)\nvalidation accuracy: 90.3 %\n" }];
  assert.deepEqual(compareOutputs(a, b), []);
  b.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "2 epochs in 10.3 s (582 samples/s on wasm)\nvalidation accuracy: 90.4 %\n" }];
  assert.equal(compareOutputs(a, b).length, 1);
});

test("the Node executor and nbclient record the same outputs for the same notebook (where Jupyter is installed)", async (t) => {
  const python = findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python) {
    t.skip("no Python with nbclient: the comparison runs where Jupyter is installed (CI installs it)");
    return;
  }
  const fixture = path.join(__dirname, "fixtures", "features.ipynb");
  const env = { FEDTUNE_QUIET: "0", FEDTUNE_BACKEND: "" };
  const node = await executeNotebook(fixture, { cwd: ROOT, projectRoot: ROOT, env });
  assert.equal(node.ok, true, node.failed?.message);
  const out = path.join(dir, "nbclient");
  const r = spawnSync(python, [path.join(ROOT, "scripts", "run_notebooks.py"), "--no-html", "--out", out, fixture], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...jupyterEnv(), ...env },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const nbclient = readNotebook(path.join(out, "features.ipynb"));
  assert.deepEqual(compareOutputs(node.notebook, nbclient, "node", "nbclient"), []);
  assert.deepEqual(validateNotebook(nbclient), []);
});
