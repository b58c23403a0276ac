/**
 * `npm run lab`: open the notebooks in Jupyter with fedtune's TypeScript kernel. Uses JupyterLab
 * when installed, otherwise Jupyter Notebook (6 on Debian). Nothing is installed into the home
 * directory: the kernelspec is found through JUPYTER_PATH.
 */
import { spawn } from "child_process";
import { findPython, INSTALL_HINT, jupyterEnv, ROOT } from "./jupyter-env";

function main(): void {
  const extra = process.argv.slice(2);
  const labPython = findPython(["jupyterlab"]);
  const nbPython = labPython ? undefined : findPython(["notebook"]);
  const python = labPython ?? nbPython;
  if (!python) {
    console.error(`lab: neither JupyterLab nor Jupyter Notebook was found.\n${INSTALL_HINT}`);
    process.exitCode = 1;
    return;
  }
  const app = labPython ? "jupyterlab" : "notebook";
  console.log(`lab: starting ${app === "jupyterlab" ? "JupyterLab" : "Jupyter Notebook"} with the "TypeScript (fedtune)" kernel (Ctrl-C to stop)`);
  const rootArgs = process.getuid && process.getuid() === 0 ? ["--allow-root"] : [];
  const child = spawn(python, ["-m", app, "--notebook-dir", ROOT, ...rootArgs, ...extra], {
    cwd: ROOT,
    env: jupyterEnv(),
    stdio: "inherit",
  });
  child.on("exit", (code) => {
    process.exitCode = code ?? 0;
  });
}

main();
