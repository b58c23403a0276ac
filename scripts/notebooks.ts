/**
 * `npm run notebooks [-- [options] notebooks/x.ipynb ...]`: execute the notebooks headless with the
 * project's kernel, validate them (nbformat 4), export HTML and check in headless Chromium that every
 * chart draws. Output goes to out/notebooks (git-ignored).
 *
 * Two executors: the Node one (lib/notebooks, always; needs nothing but npm install) and, where
 * Jupyter is installed, nbclient as well (out/notebooks/nbclient, HTML by nbconvert), whose outputs
 * must equal the Node executor's; plus one notebook live in Notebook 6.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { checkCharts, compareOutputs, executeNotebook, findChromium, readNotebook, renderHtml, validateNotebook, writeNotebook } from "../lib/notebooks/index";
import { findPython, jupyterEnv, ROOT } from "./jupyter-env";

const HELP = `usage: npm run notebooks -- [options] [notebooks/x.ipynb ...]   (default: every notebook)

  --executor <e>   node | nbclient | both | auto (default auto: node, plus nbclient when Jupyter is installed)
  --timeout <s>    seconds per cell (default 600)
  --out <dir>      output folder (default out/notebooks)
  --no-html        skip the HTML export and the chart check
  -h, --help       this text

Environment: FEDTUNE_NBCLIENT=0 skips nbclient under auto; FEDTUNE_LIVE_NOTEBOOKS=a.ipynb,b.ipynb picks the
notebooks run live in Notebook 6 (default notebooks/07-real-world-friction.ipynb; empty: none);
FEDTUNE_CHROMIUM=/path picks the browser; FEDTUNE_PYTHON=/path picks the Python that has Jupyter.`;

interface Options {
  readonly files: string[];
  readonly executor: "node" | "nbclient" | "both" | "auto";
  readonly timeoutS: number;
  readonly out: string;
  readonly html: boolean;
}

function parse(argv: string[]): Options | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      executor: { type: "string", default: "auto" },
      timeout: { type: "string", default: "600" },
      out: { type: "string", default: path.join("out", "notebooks") },
      "no-html": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const executor = values.executor as string;
  if (!["node", "nbclient", "both", "auto"].includes(executor)) throw new Error(`--executor: "${executor}" is not one of node, nbclient, both, auto`);
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new Error(`--timeout: expected seconds > 0, got "${values.timeout}"`);
  let files = positionals;
  if (files.length === 0) {
    files = fs
      .readdirSync(path.join(ROOT, "notebooks"))
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
      .map((f) => path.join("notebooks", f));
  }
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`${f}: no such notebook`);
  return { files, executor: executor as Options["executor"], timeoutS, out: path.resolve(values.out as string), html: !values["no-html"] };
}

const base = (f: string): string => path.basename(f).replace(/\.ipynb$/, "");
const indent = (s: string): string => "    " + s.split("\n").join("\n    ");

/** Execute with the Node executor; returns the notebooks that passed. */
async function runNode(o: Options): Promise<{ ok: string[]; failed: string[] }> {
  const ok: string[] = [];
  const failed: string[] = [];
  for (const file of o.files) {
    console.log(`notebook ${file} (node executor) ...`);
    const r = await executeNotebook(file, {
      cwd: ROOT,
      projectRoot: ROOT,
      cellTimeoutMs: o.timeoutS * 1000,
      env: { FEDTUNE_QUIET: process.env.FEDTUNE_QUIET ?? "0" },
    });
    const invalid = validateNotebook(r.notebook);
    writeNotebook(path.join(o.out, `${base(file)}.ipynb`), r.notebook);
    if (r.ok && o.html) fs.writeFileSync(path.join(o.out, `${base(file)}.html`), renderHtml(r.notebook));
    if (r.ok && invalid.length === 0) {
      ok.push(file);
      console.log(`  ok in ${(r.durationMs / 1000).toFixed(1)} s -> ${path.relative(ROOT, path.join(o.out, base(file)))}.ipynb`);
      if (r.kernelLog.trim()) console.log(`  (the kernel process wrote:)\n${indent(r.kernelLog.trim().split("\n").slice(-15).join("\n"))}`);
      continue;
    }
    failed.push(file);
    if (r.failed) {
      const cell = r.notebook.cells[r.failed.index];
      console.log(`  FAILED after ${(r.durationMs / 1000).toFixed(1)} s at cell #${r.failed.index + 1} (${r.failed.status})`);
      console.log(`  ---- the cell ----\n${indent(cell.source)}\n  ---- the error ----\n${indent(r.failed.message ?? "")}`);
      if (r.kernelLog.trim()) console.log(`  ---- kernel log ----\n${indent(r.kernelLog.trim().split("\n").slice(-15).join("\n"))}`);
    }
    if (invalid.length) console.log(`  FAILED: the executed notebook is not valid nbformat 4:\n${indent(invalid.slice(0, 10).join("\n"))}`);
  }
  return { ok, failed };
}

async function chartCheck(html: string[], label: string): Promise<boolean> {
  if (html.length === 0) return true;
  const browser = await findChromium();
  if (!browser) {
    console.log(`  FAILED: no Chromium to check the charts (npm install brings @sparticuz/chromium; or set FEDTUNE_CHROMIUM)`);
    return false;
  }
  console.log(`checking charts (${label}) in headless Chromium (${browser.source}: ${browser.executablePath}) ...`);
  let good = true;
  for (const r of await checkCharts(html, browser.executablePath)) {
    const ok = r.drawn === r.charts && r.errors.length === 0;
    good = good && ok;
    console.log(`  ${ok ? "ok" : "FAILED"} ${path.basename(r.file)}: ${r.drawn}/${r.charts} charts drawn${r.errors.length ? `; page errors: ${r.errors.join(" | ")}` : ""}`);
  }
  return good;
}

/** nbclient + nbconvert (Python), then compare with the Node executor's notebooks. */
async function runNbclient(o: Options, python: string, compareWith: readonly string[]): Promise<boolean> {
  const out = path.join(o.out, "nbclient");
  const args = [path.join(ROOT, "scripts", "run_notebooks.py"), "--out", out, "--timeout", String(o.timeoutS), ...(o.html ? [] : ["--no-html"]), ...o.files];
  console.log(`running the same notebooks with nbclient (${python}) ...`);
  const r = spawnSync(python, args, { cwd: ROOT, env: { ...jupyterEnv(), FEDTUNE_QUIET: process.env.FEDTUNE_QUIET ?? "0" }, stdio: "inherit" });
  let good = r.status === 0;
  if (good && o.html) good = await chartCheck(o.files.map((f) => path.join(out, `${base(f)}.html`)), "nbconvert exports");
  for (const f of compareWith) {
    const a = path.join(o.out, `${base(f)}.ipynb`);
    const b = path.join(out, `${base(f)}.ipynb`);
    if (!fs.existsSync(b)) continue;
    const diffs = compareOutputs(readNotebook(a), readNotebook(b), "node", "nbclient");
    console.log(`  ${diffs.length ? "FAILED" : "ok"} ${base(f)}: node and nbclient outputs ${diffs.length ? "differ" : "are the same"}`);
    if (diffs.length) console.log(indent(diffs.slice(0, 10).join("\n")));
    good = good && diffs.length === 0;
  }
  return good;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (!o) return 0;
  fs.mkdirSync(o.out, { recursive: true });
  const started = Date.now();
  const python = o.executor === "node" || (o.executor === "auto" && process.env.FEDTUNE_NBCLIENT === "0") ? undefined : findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python && (o.executor === "nbclient" || o.executor === "both")) {
    console.error("notebooks: --executor " + o.executor + " needs a Python with nbclient (apt-get install python3-nbclient jupyter-nbconvert, or pip install nbclient nbconvert)");
    return 1;
  }
  let good = true;
  let node: { ok: string[]; failed: string[] } = { ok: [], failed: [] };
  if (o.executor !== "nbclient") {
    node = await runNode(o);
    good = node.failed.length === 0;
    if (o.html) good = (await chartCheck(node.ok.map((f) => path.join(o.out, `${base(f)}.html`)), "node executor")) && good;
  }
  if (python) good = (await runNbclient(o, python, node.ok)) && good;
  else if (o.executor === "auto") console.log("nbclient path skipped: no Python with nbclient (the Node executor covers the notebooks)");
  // One notebook also runs live in Notebook 6 (the UI teachers use): its charts must draw there too.
  const live = (process.env.FEDTUNE_LIVE_NOTEBOOKS ?? "notebooks/07-real-world-friction.ipynb")
    .split(",")
    .filter((f) => f && o.files.some((g) => path.resolve(g) === path.resolve(f)));
  if (python && live.length > 0) {
    console.log("running in a live Jupyter Notebook 6 page ...");
    const l = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "scripts", "check-notebook6.ts"), ...live], { cwd: ROOT, stdio: "inherit" });
    good = good && l.status === 0;
  }
  const n = o.files.length;
  console.log(`notebooks: ${n} notebook(s) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${good ? "all passed" : "FAILED"}`);
  return good ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`notebooks: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
