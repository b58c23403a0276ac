/**
 * Find the Python that can run Jupyter, and the environment that makes it see fedtune's
 * project-local TypeScript kernel (jupyter/kernels/fedtune-ts).
 */
import { spawnSync } from "child_process";
import * as path from "path";

/** Project root (the folder holding package.json). */
export const ROOT = path.resolve(__dirname, "..");

/** How to install what is missing, for the error message. */
export const INSTALL_HINT = [
  "Jupyter is needed to run the notebooks. Install it with one of:",
  "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y jupyter-notebook jupyter-nbconvert python3-nbclient",
  "  pip:            python3 -m pip install notebook nbclient nbconvert   (or: pip install jupyterlab)",
].join("\n");

/** Python interpreters to try, in order: FEDTUNE_PYTHON, Debian's, then whatever is on PATH. */
function candidates(): string[] {
  const list = [process.env.FEDTUNE_PYTHON, "/usr/bin/python3", "python3", "python"].filter((p): p is string => !!p);
  return Array.from(new Set(list));
}

/** The first Python that can import every module in `modules`, or undefined. */
export function findPython(modules: readonly string[]): string | undefined {
  for (const py of candidates()) {
    const r = spawnSync(py, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** Environment for Jupyter: the project's kernelspec first on JUPYTER_PATH. */
export function jupyterEnv(): NodeJS.ProcessEnv {
  const own = path.join(ROOT, "jupyter");
  const prev = process.env.JUPYTER_PATH;
  return { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1", JUPYTER_PATH: prev ? `${own}${path.delimiter}${prev}` : own };
}
