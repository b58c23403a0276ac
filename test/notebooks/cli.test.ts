/**
 * `fedtune notebooks` as a user runs it (node bin/fedtune.js notebooks …), against the real tslab
 * kernel: --jobs 2 gives the outputs of --jobs 1, a failing cell is a JUnit failure naming the cell,
 * an injected parameter changes the result and --compare lists the drift by cell, a notebook
 * timeout stops a notebook, and bad input exits 2 before any kernel starts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { notebooksCommand } from "../../bin/notebooks";
import { compareOutputs } from "../../lib/notebooks/compareOutputs";
import { nodeExecutor } from "../../lib/notebooks/nodeExecutor";
import { readNotebook } from "../../lib/notebooks/notebookFile";
import { parseXml } from "./miniXml";

const ROOT = path.resolve(__dirname, "..", "..");
const fixture = (name: string): string => path.join("test", "notebooks", "fixtures", `${name}.ipynb`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-nbcli-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Run the fedtune command in the project root; resolves with its exit code and output. */
function fedtune(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "fedtune.js"), "notebooks", ...args], { cwd: ROOT, env: { ...process.env, FEDTUNE_BACKEND: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const stdoutOf = (file: string, id: string): string => {
  const cell = readNotebook(file).cells.find((c) => c.id === id);
  assert.ok(cell, `${file}: cell ${id}`);
  return (cell.outputs ?? []).map((o) => (o.output_type === "stream" && o.name === "stdout" ? o.text : "")).join("");
};

const NOTEBOOKS = ["seeded", "parameters", "runtime-error"];
const d1 = path.join(tmp, "jobs1");
const d2 = path.join(tmp, "jobs2");

test("--jobs 2 gives the outputs of --jobs 1; a failing cell is a JUnit failure naming the cell; exit 1", async () => {
  const common = ["--param", "N=5", "--cell-timeout", "300", "--startup-timeout", "300"];
  const one = await fedtune([...NOTEBOOKS.map(fixture), ...common, "--jobs", "1", "--out", d1, "--junit", path.join(d1, "junit.xml"), "--summary", path.join(d1, "summary.md")]);
  assert.equal(one.code, 1, one.stderr);
  // (the failing notebook is left out of the second run: its outputs are the error, tested above and by the executor's tests)
  const two = await fedtune([...NOTEBOOKS.slice(0, 2).map(fixture), ...common, "--jobs", "2", "--out", d2, "--check-charts", "--summary", path.join(d2, "summary.md")]);
  assert.equal(two.code, 0, two.stderr);
  // --check-charts opened the HTML exports in headless Chromium: the seeded notebook's one chart drew
  assert.match(fs.readFileSync(path.join(d2, "summary.md"), "utf8"), /\| `test\/notebooks\/fixtures\/seeded\.ipynb` \| ✅ passed \| [^|]+ \| 3\/3 \| 1\/1 drawn \| 1 \|/);
  for (const name of NOTEBOOKS.slice(0, 2)) {
    const a = readNotebook(path.join(d1, `${name}.ipynb`));
    const b = readNotebook(path.join(d2, `${name}.ipynb`));
    assert.deepEqual(compareOutputs(a, b, "--jobs 1", "--jobs 2"), [], name);
    for (const ext of ["html"]) assert.ok(fs.existsSync(path.join(d1, `${name}.${ext}`)), `${name}.${ext} written`);
  }
  // the seeded notebook really computed something: six numbers, a chart
  assert.match(stdoutOf(path.join(d1, "seeded.ipynb"), "tensors"), /^\[\[-?\d/m);

  // JUnit: well-formed; one testcase per notebook plus one for the failing cell, naming it
  const junit = parseXml(fs.readFileSync(path.join(d1, "junit.xml"), "utf8"));
  assert.deepEqual([junit.attrs.tests, junit.attrs.failures], ["4", "2"]);
  const suites = junit.children;
  assert.deepEqual(
    suites.map((s) => [s.attrs.name, s.attrs.failures]),
    NOTEBOOKS.map((n) => [fixture(n), n === "runtime-error" ? "2" : "0"]),
  );
  const failing = suites[2].children.find((c) => c.attrs.name.startsWith("cell "));
  assert.ok(failing, "a testcase for the failing cell");
  assert.equal(failing.attrs.name, 'cell 1 (function deep(): never { throw new Error("boom in a cell"…)');
  const failure = failing.children[0];
  assert.deepEqual([failure.name, failure.attrs.type, failure.attrs.message], ["failure", "Error", "boom in a cell"]);
  assert.ok(failure.text.includes('deep();'), "the failure carries the cell's source");
  assert.deepEqual(suites[1].children[0].children.map((p) => p.attrs.value), ["N=5"]);

  // Markdown summary: one row per notebook, the failing cell with its error
  const md = fs.readFileSync(path.join(d1, "summary.md"), "utf8");
  assert.match(md, /^## Notebooks: ❌ 2 passed, 1 failed in /);
  assert.match(md, /\| `test\/notebooks\/fixtures\/seeded\.ipynb` \| ✅ passed \| [^|]+ \| 3\/3 \| 1 \| 1 \|/);
  assert.match(md, /\| `test\/notebooks\/fixtures\/parameters\.ipynb`<br>`N=5` \| ✅ passed \| [^|]+ \| 5\/5 \| 0 \| 1 \|/);
  assert.match(md, /\| `test\/notebooks\/fixtures\/runtime-error\.ipynb` \| ❌ cell 1 failed \| [^|]+ \| 1\/2 \| 0 \| 0 \|/);
  assert.ok(md.includes("Error: boom in a cell"));
});

test("an injected parameter changes the result (real kernel); --compare lists the drift by cell", async () => {
  // With --param N=5 (above): the injected cell redeclares N; a function defined later sees 5.
  const injected = readNotebook(path.join(d1, "parameters.ipynb"));
  assert.deepEqual(
    injected.cells.map((c) => c.id),
    ["title", "params", "injected-parameters", "use", "reassign", "check"],
  );
  assert.equal(injected.cells[2].source.split("\n")[1], "const N = 5;");
  assert.equal(stdoutOf(path.join(d1, "parameters.ipynb"), "use"), "N*21 = 105; words = a; label = short\n");
  // The defaults, and the other parameters: a reassigned let stays assignable, a union type stays one.
  const d3 = path.join(tmp, "defaults");
  const r = await fedtune([fixture("parameters"), "--out", d3, "--compare", d1, "--param", 'WORDS=["x","y"]', "--param", "LABEL=long", "--no-html", "--startup-timeout", "300"]);
  assert.equal(stdoutOf(path.join(d3, "parameters.ipynb"), "use"), "N*21 = 42; words = x+y; label = long\n");
  assert.equal(stdoutOf(path.join(d3, "parameters.ipynb"), "reassign"), "3\n");
  // …and the outputs drifted from the --jobs 1 run: listed by cell, exit 1
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes('- cell 4 (function times21() { return N * 21; }): line 1: "N*21 = 42; words = x+y; label = long", the reference has "N*21 = 105; words = a; label = short"'), r.stderr);
  assert.ok(r.stderr.includes("- cell 5 (WORDS = [...WORDS, \"z\"];): line 1: 2 → 3"), r.stderr);
});

test("a notebook over its --timeout stops with a TimeoutError in the running cell", async () => {
  const d = path.join(tmp, "timeout");
  const r = await fedtune([fixture("slow"), "--timeout", "5", "--out", d, "--junit", path.join(d, "junit.xml"), "--no-html"]);
  assert.equal(r.code, 1, r.stderr);
  const junit = parseXml(fs.readFileSync(path.join(d, "junit.xml"), "utf8"));
  const cell = junit.children[0].children[1];
  assert.equal(cell.children[0].attrs.type, "TimeoutError");
  assert.equal(cell.children[0].attrs.message, "the notebook timed out after 5 s (in this cell)");
});

test("bad input exits 2 with a message naming it, before any kernel starts", async () => {
  const broken = path.join(tmp, "broken.ipynb");
  fs.writeFileSync(broken, "{ not json");
  const noKernel = path.join(tmp, "no-kernel.ipynb");
  const nb = JSON.parse(fs.readFileSync(path.join(ROOT, fixture("parameters")), "utf8"));
  nb.metadata.kernelspec.name = "no-such-kernel";
  fs.writeFileSync(noKernel, JSON.stringify(nb));
  const cases: Array<[string[], RegExp]> = [
    [[broken], /^fedtune notebooks: .*broken\.ipynb: not valid JSON/],
    [[fixture("parameters"), "--kernel", "no-such-kernel"], /parameters\.ipynb: no Jupyter kernel named "no-such-kernel"/],
    [[noKernel], /no-kernel\.ipynb: no Jupyter kernel named "no-such-kernel"/],
    [[fixture("parameters"), "--param", "ROUNDS=3"], /unknown parameter ROUNDS: not declared in the parameters cell of test\/notebooks\/fixtures\/parameters\.ipynb; declared:\n  test\/notebooks\/fixtures\/parameters\.ipynb: N, WORDS, LABEL/],
    [[fixture("parameters"), "--param", "N=ten"], /--param N=ten: the default \(2\) is a number, got a string/],
    [[fixture("parameters"), "--jobs", "0"], /--jobs must be a whole number ≥ 1/],
    [[path.join(tmp, "missing.ipynb")], /missing\.ipynb: no such file or folder/],
  ];
  // The exit code as a user sees it, through bin/fedtune.js…
  const real = await fedtune([...cases[0][0], "--out", path.join(tmp, "never")]);
  assert.equal(real.code, 2, real.stderr);
  assert.match(real.stderr, cases[0][1]);
  // …and every case through the same command in this process (a process per case is slow).
  for (const [args, message] of cases) {
    const lines: string[] = [];
    const code = await notebooksCommand([...args, "--out", path.join(tmp, "never")], nodeExecutor({ projectRoot: ROOT }), (l) => lines.push(l));
    assert.equal(code, 2, `${args.join(" ")}: ${lines.join("\n")}`);
    assert.match(lines.join("\n"), message);
  }
  assert.equal(fs.existsSync(path.join(tmp, "never")), false, "nothing ran, nothing written");
});
