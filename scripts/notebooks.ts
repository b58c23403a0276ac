/**
 * `npm run notebooks [-- notebooks/x.ipynb ...]`: execute the notebooks headless with the
 * project's kernel; executed copies and HTML exports go to out/notebooks (git-ignored).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findPython, INSTALL_HINT, jupyterEnv, ROOT } from "./jupyter-env";

function main(): number {
  const args = process.argv.slice(2);
  const passthrough = args.filter((a) => a.startsWith("--"));
  let files = args.filter((a) => !a.startsWith("--"));
  if (files.length === 0) {
    const dir = path.join(ROOT, "notebooks");
    files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
      .map((f) => path.join("notebooks", f));
  }
  if (files.length === 0) {
    console.error("notebooks: no .ipynb files found in notebooks/");
    return 1;
  }
  const python = findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python) {
    console.error(`notebooks: no Python with nbclient was found.\n${INSTALL_HINT}`);
    return 1;
  }
  const r = spawnSync(python, [path.join(ROOT, "scripts", "run_notebooks.py"), ...passthrough, ...files], {
    cwd: ROOT,
    env: { ...jupyterEnv(), FEDTUNE_QUIET: process.env.FEDTUNE_QUIET ?? "0" },
    stdio: "inherit",
  });
  if (r.status !== 0) return r.status ?? 1;
  if (passthrough.includes("--no-html")) return 0;
  // The HTML exports must draw their charts in a real browser, offline.
  const html = files.map((f) => path.join(ROOT, "out", "notebooks", path.basename(f).replace(/\.ipynb$/, ".html")));
  console.log("checking charts in headless Chromium ...");
  const c = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "scripts", "check-html.ts"), ...html], {
    cwd: ROOT,
    stdio: "inherit",
  });
  let chartsOk = c.status === 0;
  // One notebook also runs live in Notebook 6 (the UI teachers use): its charts must draw there too.
  const live = (process.env.FEDTUNE_LIVE_NOTEBOOKS ?? "notebooks/07-real-world-friction.ipynb").split(",").filter((f) => f && files.some((g) => path.resolve(g) === path.resolve(f)));
  if (live.length > 0) {
    console.log("running in a live Jupyter Notebook 6 page ...");
    const l = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "scripts", "check-notebook6.ts"), ...live], { cwd: ROOT, stdio: "inherit" });
    chartsOk = chartsOk && l.status === 0;
  }
  console.log(`notebooks: ${chartsOk ? files.length : 0} passed, ${chartsOk ? 0 : files.length} failed`);
  return chartsOk ? 0 : 1;
}

process.exitCode = main();
