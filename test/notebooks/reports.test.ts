import { test } from "node:test";
import assert from "node:assert/strict";
import { Notebook } from "../../lib/notebooks/notebookJson";
import { countAssertions, notebookStats, NotebookRun } from "../../lib/notebooks/notebookRun";
import { junitXml, xmlEscape } from "../../lib/notebooks/junitXml";
import { formatSeconds, markdownSummary } from "../../lib/notebooks/markdownSummary";

/** A strict little XML reader for the tests: elements, attributes, text; throws on anything malformed. */
interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}
function parseXml(xml: string): El {
  const unescape = (s: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) throw new Error(`bad entity in ${JSON.stringify(s.slice(0, 40))}`);
    if (/[<>]/.test(s) && !/^\s*$/.test(s)) {
      if (s.includes("<")) throw new Error(`raw < in text`);
    }
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  };
  let body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, "");
  if (body === xml) throw new Error("no XML declaration");
  body = body.replace(/<!--[\s\S]*?-->/g, "");
  const root: El = { name: "#root", attrs: {}, children: [], text: "" };
  const stack: El[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    stack[stack.length - 1].text += unescape(body.slice(at, m.index));
    at = m.index + m[0].length;
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      const top = stack.pop();
      if (!top || top.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
    const el: El = { name, attrs, children: [], text: "" };
    stack[stack.length - 1].children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (body.slice(at).trim() !== "") throw new Error("text after the root element");
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new Error("one root element expected");
  return root.children[0];
}

function nb(cells: Array<{ src: string; ran?: boolean; outputs?: object[] }>): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cells.map((c, i) => ({ cell_type: "code", id: `c${i}`, source: c.src, metadata: {}, execution_count: c.ran === false ? null : i + 1, outputs: (c.outputs ?? []) as never })),
  };
}

const plotly = { output_type: "display_data", data: { "application/vnd.plotly.v1+json": { data: [] }, "text/plain": "<Figure>" }, metadata: {} };

const passing: NotebookRun = {
  path: "notebooks/a & b.ipynb",
  seconds: 12.5,
  parameters: ["ROUNDS=3"],
  executed: nb([{ src: "const x = 1;" }, { src: "showFigure(f); showFigure(g);", outputs: [plotly, plotly] }, { src: 'if (!(x > 0)) throw new Error("x");\nassert.equal(x, 1); // throw' }]),
};
const failingSource = 'const s = "<b> & \'q\' ]]>";\nif (s.length > 3) throw new Error(`too long: ${s}`);';
const failing: NotebookRun = {
  path: "notebooks/broken.ipynb",
  seconds: 3.25,
  cellSeconds: [0.5, 0.25],
  executed: nb([{ src: "if (!ok) throw new Error('a');" }, { src: failingSource }, { src: "console.log(1)", ran: false }]),
  failure: { index: 1, ename: "Error", message: "too long: <b> & 'q' ]]>", details: "\u001b[31mError: too long\u001b[0m\n    at cell 2\u0007" },
};

test("countAssertions counts throw checks and assert calls, not comments or strings", () => {
  assert.equal(countAssertions('if (!(a)) throw new Error("x");\nassert(b);\nassert.deepEqual(c, d);\nconsole.assert(e);'), 4);
  assert.equal(countAssertions('// throw new Error\nconst s = "throw assert(";\n/* assert(x) */'), 0);
  assert.equal(countAssertions("for (const p of ps) if (acc(p) < 0.7) throw new Error(`${p}: throw`);"), 1);
});

test("notebookStats counts code cells, cells run, charts and the assertions of cells that completed", () => {
  assert.deepEqual(notebookStats(passing.executed), { codeCells: 3, cellsRun: 3, charts: 2, assertionsPassed: 2 });
  // the failing cell's own check does not count, nor cells after it
  assert.deepEqual(notebookStats(failing.executed, failing.failure), { codeCells: 3, cellsRun: 2, charts: 0, assertionsPassed: 1 });
});

test("xmlEscape escapes markup, drops ANSI codes and characters XML 1.0 forbids", () => {
  assert.equal(xmlEscape(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  assert.equal(xmlEscape("\u001b[31mred\u001b[0m\u0000\u0007 ok\t\n"), "red ok\t\n");
  assert.equal(xmlEscape("α → 😀"), "α → 😀");
});

test("junitXml: valid XML, one testcase per notebook plus one per failing cell with its source and error", () => {
  const xml = junitXml([passing, failing]);
  const root = parseXml(xml);
  assert.equal(root.name, "testsuites");
  assert.deepEqual([root.attrs.tests, root.attrs.failures, root.attrs.time], ["3", "2", "15.750"]);
  const [s1, s2] = root.children;
  assert.equal(s1.attrs.name, "notebooks/a & b.ipynb");
  assert.deepEqual([s1.attrs.tests, s1.attrs.failures], ["1", "0"]);
  assert.equal(s1.children[0].name, "properties");
  assert.equal(s1.children[0].children[0].attrs.value, "ROUNDS=3");
  assert.equal(s1.children[1].attrs.classname, "notebooks.a & b");
  assert.equal(s1.children[1].children.length, 0);
  assert.deepEqual([s2.attrs.tests, s2.attrs.failures], ["2", "2"]);
  const [whole, cell] = s2.children;
  assert.equal(whole.attrs.name, "notebooks/broken.ipynb");
  assert.equal(whole.children[0].name, "failure");
  assert.match(whole.children[0].attrs.message, /^cell 2 \(const s = "<b> & 'q' \]\]>";\) failed: Error: too long/);
  assert.equal(cell.attrs.name, `cell 2 (const s = "<b> & 'q' ]]>";)`);
  assert.equal(cell.attrs.time, "0.250");
  const f = cell.children[0];
  assert.deepEqual([f.name, f.attrs.type, f.attrs.message], ["failure", "Error", "too long: <b> & 'q' ]]>"]);
  assert.ok(f.text.includes(failingSource), "the failure holds the cell's source verbatim");
  assert.ok(f.text.includes("Error: too long: <b> & 'q' ]]>"));
  assert.ok(f.text.includes("Error: too long\n    at cell 2"), "details without ANSI codes and control characters");
});

test("junitXml lists output differences per cell", () => {
  const run: NotebookRun = { ...passing, differences: [{ cell: 1, message: "chart 1: 1 trace(s), the reference has 2" }, { cell: 1, message: "line 1: 0.5 → 0.6" }, { cell: -1, message: "3 code cell(s), the reference has 4" }] };
  const root = parseXml(junitXml([run]));
  const names = root.children[0].children.slice(1).map((c) => c.attrs.name);
  assert.deepEqual(names, ["notebooks/a & b.ipynb", "cell 2 (showFigure(f); showFigure(g);) outputs", "outputs"]);
  assert.equal(root.children[0].children[2].children[0].text, "chart 1: 1 trace(s), the reference has 2\nline 1: 0.5 → 0.6");
  assert.equal(root.attrs.failures, "3");
});

test("markdownSummary: one row per notebook, then the failing cell's source and error", () => {
  const md = markdownSummary([passing, failing], { wallSeconds: 9, jobs: 2 });
  const lines = md.split("\n");
  assert.equal(lines[0], "## Notebooks: ❌ 1 passed, 1 failed in 9.0 s (2 in parallel)");
  assert.equal(lines[2], "| notebook | result | time | cells run | charts | assertions passed |");
  assert.equal(lines[4], "| `notebooks/a & b.ipynb`<br>`ROUNDS=3` | ✅ passed | 12.5 s | 3/3 | 2 | 2 |");
  assert.equal(lines[5], "| `notebooks/broken.ipynb` | ❌ cell 2 failed | 3.3 s | 2/3 | 0 | 1 |");
  assert.ok(md.includes("### ❌ `notebooks/broken.ipynb`"));
  assert.ok(md.includes("```ts\n" + failingSource + "\n```"));
  assert.ok(md.includes("Error: too long: <b> & 'q' ]]>\nError: too long\n    at cell 2"));
  assert.ok(!md.includes("\u001b"));
});

test("formatSeconds", () => {
  assert.equal(formatSeconds(4.04), "4.0 s");
  assert.equal(formatSeconds(125.4), "2 min 05 s");
});
