/**
 * Run notebooks live in Jupyter Notebook 6 in headless Chromium — the way a teacher runs them —
 * and check that every fedtune chart draws in the live page (not only in the HTML export). Starts
 * a private Notebook server on a free loopback port with a random token, runs all cells, counts
 * drawn charts, stops the server.
 *
 * Usage: tsx scripts/check-notebook6.ts notebooks/x.ipynb [...]   (skips, exit 0, without Notebook 6)
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { findChromium, launchBrowser } from "../lib/notebooks/checkCharts";
import { findPython, jupyterEnv, ROOT } from "./jupyter-env";

/** What tslab's kernel wrote at shutdown before jupyter/kernels/fedtune-ts/launch.js fixed its sends. */
const SHUTDOWN_TROUBLE = /Socket is closed|EBADF|EBUSY|UnhandledPromiseRejection|UncaughtException/;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitForServer(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Jupyter Notebook did not answer at ${url} within ${timeoutMs / 1000} s`);
}

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  const python = findPython(["notebook"]);
  const chromium = (await findChromium())?.executablePath;
  if (!python || !chromium) {
    console.log(`  live Notebook 6 check skipped: ${!python ? "Jupyter Notebook (apt-get install jupyter-notebook) is not installed" : "no Chromium"}`);
    return 0;
  }
  const port = await freePort();
  const token = crypto.randomBytes(12).toString("hex");
  const rootArgs = process.getuid && process.getuid() === 0 ? ["--allow-root"] : [];
  const server = spawn(
    python,
    ["-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, `--NotebookApp.token=${token}`, "--notebook-dir", ROOT, ...rootArgs],
    { cwd: ROOT, env: jupyterEnv(), stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  // The server's log, where its kernels' own stderr also goes; kept only while a kernel shuts down.
  let watched: string[] | undefined;
  server.stderr?.on("data", (b: Buffer) => watched?.push(b.toString()));
  const base = `http://127.0.0.1:${port}`;
  let bad = 0;
  const browser = await launchBrowser(chromium);
  try {
    await waitForServer(`${base}/api?token=${token}`, 60_000);
    for (const file of files) {
      const rel = path.relative(ROOT, path.resolve(file)).split(path.sep).join("/");
      // The live page must not write the executed notebook over the source (Notebook 6 autosaves every
      // 2 minutes): autosave is switched off below, and the source bytes are put back if anything saved.
      const original = fs.readFileSync(file);
      const checkpoint = path.join(path.dirname(file), ".ipynb_checkpoints", path.basename(file).replace(/\.ipynb$/, "-checkpoint.ipynb"));
      const hadCheckpoint = fs.existsSync(checkpoint);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      const t0 = Date.now();
      await page.goto(`${base}/notebooks/${rel}?token=${token}`, { waitUntil: "load", timeout: 60_000 });
      await page.waitForFunction(
        () => {
          const J = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
          return !!J?.notebook?.kernel?.is_connected();
        },
        { timeout: 60_000 },
      );
      await page.evaluate(() => {
        const nb = (window as unknown as { Jupyter: { notebook: { set_autosave_interval(ms: number): void; execute_all_cells(): void } } }).Jupyter.notebook;
        nb.set_autosave_interval(0);
        nb.execute_all_cells();
      });
      await page.waitForFunction(
        () => {
          type Cell = { cell_type: string; input_prompt_number: unknown };
          const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Cell[] } } }).Jupyter.notebook;
          return nb.get_cells().every((c) => c.cell_type !== "code" || typeof c.input_prompt_number === "number");
        },
        { timeout: 600_000, polling: 1000 },
      );
      await new Promise((r) => setTimeout(r, 2000));
      const r = await page.evaluate(() => {
        const divs = Array.from(document.querySelectorAll("div.fedtune-plot"));
        const text = Array.from(document.querySelectorAll(".output_stderr")).map((e) => e.textContent ?? "");
        return { charts: divs.length, drawn: divs.filter((d) => d.querySelector("svg.main-svg")).length, stderr: text };
      });
      // The backend line is the only expected stderr; anything mentioning an error fails the check.
      const errors = r.stderr.filter((t) => /error/i.test(t));
      // Shut the kernel down as the Notebook's UI does (interrupt, shutdown_request, wait), then read
      // what it wrote on its way out: tslab's transport used to throw "Socket is closed" here.
      const kernelId = await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { kernel: { id: string } } } }).Jupyter.notebook.kernel.id);
      watched = [];
      const shutdown = await fetch(`${base}/api/kernels/${kernelId}?token=${token}`, { method: "DELETE" });
      await new Promise((r) => setTimeout(r, 500)); // the kernel has exited; let the pipe deliver its last words
      const atShutdown = watched.join("").split("\n").filter((l) => SHUTDOWN_TROUBLE.test(l));
      watched = undefined;
      if (shutdown.status !== 204) errors.push(`kernel shutdown answered HTTP ${shutdown.status}`);
      if (atShutdown.length) errors.push(`the kernel at shutdown: ${atShutdown.join(" | ")}`);
      const ok = r.charts > 0 && r.drawn === r.charts && errors.length === 0 && pageErrors.length === 0;
      if (!ok) bad++;
      console.log(
        `  ${ok ? "ok" : "FAILED"} ${path.basename(file)} live in Notebook 6: ${r.drawn}/${r.charts} charts drawn in ${((Date.now() - t0) / 1000).toFixed(0)} s` +
          (errors.length ? `; errors: ${errors.join(" | ").slice(0, 500)}` : "") +
          (pageErrors.length ? `; page errors: ${pageErrors.join(" | ").slice(0, 500)}` : ""),
      );
      await page.close();
      if (!fs.readFileSync(file).equals(original)) fs.writeFileSync(file, original);
      if (!hadCheckpoint) fs.rmSync(checkpoint, { force: true });
    }
  } finally {
    await browser.close();
    try {
      process.kill(-(server.pid as number), "SIGTERM");
    } catch {
      // already gone
    }
  }
  return bad ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(`check-notebook6: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
