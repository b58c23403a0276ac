import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Workload } from "./trainingThroughput";

/** PyTorch's samples/s for each workload at one thread count, or why there is no figure. */
export type TorchResult =
  | { readonly ok: true; readonly version: string; readonly threads: number; readonly samplesPerS: ReadonlyMap<Workload, number> }
  | { readonly ok: false; readonly reason: string };

const PYTHON = "/usr/bin/python3";

/**
 * Runs bench/torch_baseline.py with Debian's python3-torch (optional: absent → a reason, never an error).
 * `cases` map fedtune workloads to the script's model names and batch sizes.
 */
export function torchBaseline(
  cases: ReadonlyArray<{ workload: Workload; model: "mlp" | "cnn" | "head"; batch: number }>,
  threads: number,
  secondsPerCase: number,
  seed: number,
): TorchResult {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 120_000 });
  if (probe.error !== undefined || probe.status !== 0) {
    return { ok: false, reason: `PyTorch baseline skipped: ${PYTHON} cannot import torch (install the Debian package python3-torch)` };
  }
  const request = { threads, seconds: secondsPerCase, seed, cases: cases.map((c) => ({ model: c.model, batch: c.batch })) };
  const run = spawnSync(PYTHON, [path.join(__dirname, "torch_baseline.py")], {
    input: JSON.stringify(request),
    encoding: "utf8",
    timeout: 600_000,
    // The script sets the thread count itself; these keep OpenMP/MKL from starting more behind its back.
    env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  });
  if (run.error !== undefined || run.status !== 0) {
    return { ok: false, reason: `PyTorch baseline failed: ${run.error?.message ?? run.stderr.trim().split("\n").pop()}` };
  }
  const parsed = JSON.parse(run.stdout) as { torch: string; threads: number; results: Array<{ samples_per_s: number }> };
  const samplesPerS = new Map<Workload, number>();
  cases.forEach((c, i) => samplesPerS.set(c.workload, parsed.results[i].samples_per_s));
  return { ok: true, version: parsed.torch, threads: parsed.threads, samplesPerS };
}
