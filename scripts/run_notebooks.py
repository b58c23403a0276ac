"""Execute fedtune notebooks headless with the project's TypeScript kernel (fedtune-ts).

Called by `npm run notebooks` (scripts/notebooks.ts), which finds a Python that has nbclient and
sets JUPYTER_PATH so that Jupyter finds the project-local kernelspec in ./jupyter.

For each notebook: run every cell with a per-cell timeout, write the executed copy and an HTML
export to the output folder, and on failure print the failing cell's source and its stderr (tslab
reports compile and runtime errors on stderr, not as ename/evalue). A kernel that does not exit with
0 after nbclient's shutdown request (a crash at shutdown) fails its notebook. Exit code 1 if any failed.
"""
import argparse
import os
import sys
import time

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import Float


def exit_recording_manager(record):
    """jupyter_client's kernel manager that stores in record["exit_code"] how the kernel process ended
    after the shutdown request (0 = it exited by itself; negative = killed by that signal). It waits
    up to 30 s (not 5) before sending SIGTERM, so that a slow exit on a loaded machine is not taken
    for a hung kernel."""

    class ExitRecordingKernelManager(AsyncKernelManager):
        shutdown_wait_time = Float(30.0, config=True)

        async def finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            process = getattr(self.provisioner, "process", None)
            await super().finish_shutdown(waittime=waittime, pollinterval=pollinterval, restart=restart)
            if process is not None:
                record["exit_code"] = process.poll()

    return ExitRecordingKernelManager


def stream_text(cell, name):
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == name:
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append("%s: %s\n" % (o.get("ename", ""), o.get("evalue", "")))
            out.append("\n".join(o.get("traceback", [])))
    return "".join(out)


def export_html(nb, path):
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        print("  (nbconvert not found: HTML export skipped)")
        return
    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(nb)
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


def run_one(path, out_dir, kernel, timeout, html):
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        nb = nbformat.read(f, as_version=4)
    ended = {}
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": os.getcwd()}},
        kernel_manager_class=exit_recording_manager(ended),
    )
    start = time.time()
    error = None
    failing = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        error = e
    except Exception as e:  # kernel failed to start, etc.
        error = e
    elapsed = time.time() - start
    if error is not None:
        # The failing cell is the last code cell that has an execution_count or any output.
        for idx, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count"):
                failing = (idx, cell)
    executed = os.path.join(out_dir, name + ".ipynb")
    with open(executed, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    if error is None and html:
        export_html(nb, os.path.join(out_dir, name + ".html"))
    return elapsed, error, failing, ended.get("exit_code")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", default="out/notebooks")
    ap.add_argument("--kernel", default="fedtune-ts")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("--no-html", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failed = []
    total = 0.0
    for path in args.notebooks:
        print("notebook %s ..." % path, flush=True)
        elapsed, error, failing, exit_code = run_one(path, args.out, args.kernel, args.timeout, not args.no_html)
        total += elapsed
        if error is None and exit_code in (0, None):
            ended = "" if exit_code is None else " (kernel exited with 0)"
            print("  ok in %.1f s -> %s%s" % (elapsed, os.path.join(args.out, os.path.basename(path)), ended), flush=True)
            continue
        if error is None:
            # Every cell ran, but the kernel crashed or hung at shutdown: its stderr is above.
            failed.append(path)
            print("  FAILED after %.1f s: the kernel exited with %s at shutdown, not 0" % (elapsed, exit_code), flush=True)
            continue
        failed.append(path)
        print("  FAILED after %.1f s: %s" % (elapsed, type(error).__name__), flush=True)
        if failing is not None:
            idx, cell = failing
            print("  ---- failing cell #%d ----" % (idx + 1))
            print("  " + "\n  ".join(cell.source.splitlines()))
            err = stream_text(cell, "stderr")
            print("  ---- its stderr ----")
            print("  " + "\n  ".join((err or "(none)").splitlines()))
        msg = str(error).strip().splitlines()
        if msg:
            print("  ---- kernel message ----")
            print("  " + "\n  ".join(msg[-15:]))
        sys.stdout.flush()
    ok = len(args.notebooks) - len(failed)
    print("executed %d notebook(s) in %.1f s: %d ok, %d failed" % (len(args.notebooks), total, ok, len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
