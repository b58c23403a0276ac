import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { expandPaths, parseNotebooksArgs } from "../../bin/notebooks";

test("parseNotebooksArgs: defaults, repeatable --param, numbers checked", () => {
  const a = parseNotebooksArgs(["a.ipynb", "--param", "ROUNDS=3", "--param=SEED=1", "--jobs", "2", "--kernel", "k", "--no-html"]);
  assert.deepEqual(a.files, ["a.ipynb"]);
  assert.deepEqual(a.params, ["ROUNDS=3", "SEED=1"]);
  assert.equal(a.jobs, 2);
  assert.equal(a.kernel, "k");
  assert.equal(a.html, false);
  assert.equal(a.cellTimeout, 600);
  assert.equal(a.notebookTimeout, 3600);
  assert.equal(a.out, path.join("out", "notebooks"));
  assert.throws(() => parseNotebooksArgs(["--jobs", "0"]), { name: "NotebookUsageError", message: '--jobs must be a whole number ≥ 1, got "0"' });
  assert.throws(() => parseNotebooksArgs(["--jobs", "1.5"]), /--jobs must be a whole number/);
  assert.throws(() => parseNotebooksArgs(["--cell-timeout", "soon"]), /--cell-timeout must be a number of seconds > 0, got "soon"/);
  assert.throws(() => parseNotebooksArgs(["--frobnicate"]), (e: unknown) => e instanceof Error && e.name === "NotebookUsageError" && /--frobnicate/.test(e.message) && /fedtune notebooks --help/.test(e.message));
  assert.throws(() => parseNotebooksArgs(["--kernel"]), /--kernel/);
});

test("expandPaths: folders give their notebooks sorted; missing paths and empty folders are errors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbci-paths-"));
  try {
    fs.mkdirSync(path.join(dir, "course"));
    for (const f of ["b.ipynb", "a.ipynb", "notes.md"]) fs.writeFileSync(path.join(dir, "course", f), "{}");
    fs.mkdirSync(path.join(dir, "empty"));
    assert.deepEqual(expandPaths(["course"], dir), [path.join("course", "a.ipynb"), path.join("course", "b.ipynb")]);
    assert.throws(() => expandPaths(["nope.ipynb"], dir), { message: "nope.ipynb: no such file or folder" });
    assert.throws(() => expandPaths(["empty"], dir), { message: "empty: no .ipynb files in this folder" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the GitHub workflow runs fedtune notebooks on Node 20 and uploads the reports", () => {
  const file = path.join(__dirname, "..", "..", ".github", "workflows", "notebooks.yml");
  const wf = parseYaml(fs.readFileSync(file, "utf8")) as { jobs: { notebooks: { steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown> }> } } };
  const steps = wf.jobs.notebooks.steps;
  assert.equal(steps.find((s) => s.uses?.startsWith("actions/setup-node"))?.with?.["node-version"], 20);
  assert.ok(steps.some((s) => s.run?.startsWith("npm ci")));
  const run = steps.find((s) => s.run?.includes("fedtune notebooks"))?.run ?? "";
  // the command line is one a user can run: every option it uses is one parseNotebooksArgs knows
  const argv = run.replace(/^npx fedtune notebooks/, "").replace(/"\$GITHUB_STEP_SUMMARY"/, "summary.md").replace("$ARGS", "").trim().split(/\s+/);
  const a = parseNotebooksArgs(argv);
  assert.equal(a.junit, "out/notebooks/junit.xml");
  assert.equal(a.jobs, 2);
  const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"));
  assert.equal(upload?.with?.path, "out/notebooks/");
});
