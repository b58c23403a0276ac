import { spawnSync } from "node:child_process";
import * as path from "node:path";

/** One case for bench/torch_baseline.py: a model at a batch size, trained (SGD) or evaluated (no_grad). */
export interface TorchCase {
  /** The caller's name for the result. */
  readonly key: string;
  readonly model: "mlp" | "cnn" | "head" | "fmnist";
  readonly batch: number;
  /** Default "train"; "gemm" times `torch.mm` on `products` alone. */
  readonly mode?: "train" | "eval" | "gemm";
  /** Mode "gemm": the products op(a)·op(b), operand shapes as stored. */
  readonly products?: ReadonlyArray<{ readonly a: readonly number[]; readonly b: readonly number[]; readonly transposeA: boolean; readonly transposeB: boolean }>;
  /** SGD step size; default 0.01. */
  readonly lr?: number;
  /** SGD momentum; default 0.9. */
  readonly momentum?: number;
}

/** PyTorch's samples/s for each case at one thread count, or why there is no figure. */
export type TorchResult =
  | {
    readonly ok: true;
    readonly version: string;
    readonly threads: number;
    readonly blas: string;
    readonly samplesPerS: ReadonlyMap<string, number>;
    /** Process CPU time per batch (all threads), ms: comparable across runs on a busy machine, unlike wall time. */
    readonly cpuMsPerBatch: ReadonlyMap<string, number>;
  }
  | { readonly ok: false; readonly reason: string };

const PYTHON = "/usr/bin/python3";

/**
 * Runs bench/torch_baseline.py with Debian's python3-torch (optional: absent → a reason, never an error).
 * Debian's torch uses whatever libblas.so.3 the system provides; the reference BLAS is several times slower than what
 * a pip user gets, so unless `allowReferenceBlas` the baseline is refused when OpenBLAS is not the one loaded.
 */
export function torchBaseline(cases: readonly TorchCase[], threads: number, secondsPerCase: number, seed: number, allowReferenceBlas = false): TorchResult {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 120_000 });
  if (probe.error !== undefined || probe.status !== 0) {
    return { ok: false, reason: `PyTorch baseline skipped: ${PYTHON} cannot import torch (apt-get install python3-torch libopenblas0-pthread)` };
  }
  const request = {
    threads,
    seconds: secondsPerCase,
    seed,
    cases: cases.map((c) => ({
      model: c.model,
      batch: c.batch,
      mode: c.mode ?? "train",
      lr: c.lr ?? 0.01,
      momentum: c.momentum ?? 0.9,
      products: c.products?.map((p) => ({ a: p.a, b: p.b, ta: p.transposeA, tb: p.transposeB })),
    })),
  };
  const run = spawnSync(PYTHON, [path.join(__dirname, "torch_baseline.py")], {
    input: JSON.stringify(request),
    encoding: "utf8",
    timeout: 900_000,
    // The script sets the thread count itself; these keep OpenMP/OpenBLAS/MKL from starting more behind its back.
    env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  });
  if (run.error !== undefined || run.status !== 0) {
    return { ok: false, reason: `PyTorch baseline failed: ${run.error?.message ?? run.stderr.trim().split("\n").pop()}` };
  }
  const parsed = JSON.parse(run.stdout) as {
    torch: string;
    threads: number;
    blas: string;
    results: Array<{ samples_per_s: number; cpu_ms_per_batch: number }>;
  };
  if (!/openblas/i.test(parsed.blas) && !allowReferenceBlas) {
    return {
      ok: false,
      reason: `PyTorch baseline refused: torch loaded ${parsed.blas}, not OpenBLAS (apt-get install libopenblas0-pthread; ` +
        "or pass --allow-reference-blas to compare against the slow reference BLAS anyway)",
    };
  }
  const samplesPerS = new Map<string, number>();
  const cpuMsPerBatch = new Map<string, number>();
  cases.forEach((c, i) => {
    samplesPerS.set(c.key, parsed.results[i].samples_per_s);
    cpuMsPerBatch.set(c.key, parsed.results[i].cpu_ms_per_batch);
  });
  return { ok: true, version: parsed.torch, threads: parsed.threads, blas: parsed.blas, samplesPerS, cpuMsPerBatch };
}
