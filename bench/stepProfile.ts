/**
 * Per-kernel time breakdown of fedtune's training step (issue 15): `tf.profile` around `Trainer.train` on the
 * personalised-FL CNN, grouped by kernel name and input shapes. What the kernels do not account for (tape
 * bookkeeping, tensor allocation, JavaScript between kernels) is reported as one more row, "outside kernels".
 *
 * Times are this process's CPU time (`process.cpuUsage`), kernels included (the backend's timer is swapped for one
 * that reads CPU time while profiling): on a shared machine wall time also counts the time other processes ran, CPU
 * time only the work done. On an idle machine the two agree for this single-threaded code.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../lib/data/dataset";
import { Trainer } from "../lib/model/trainer";
import { fmnistCnn, fmnistImages } from "./fmnistCnn";

/** Time of one kernel (by name and input shapes) per training step. */
export interface KernelRow {
  readonly kernel: string;
  readonly inputShapes: string;
  /** Calls per step. */
  readonly calls: number;
  /** Milliseconds per step. */
  readonly ms: number;
  /** Share of the profiled step time. */
  readonly share: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The breakdown of one step at one batch size. */
export interface StepProfile {
  readonly batch: number;
  readonly steps: number;
  /** CPU time per step without profiling (best of the runs). */
  readonly stepMs: number;
  /** Wall time per step without profiling (best of the runs). */
  readonly stepWallMs: number;
  /** CPU time per step while profiling (profiling adds a little per kernel). */
  readonly profiledStepMs: number;
  readonly rows: readonly KernelRow[];
}

/** What one profiled step trains: the model, `batch × steps` samples of its data, and the SGD settings. */
export interface ProfiledSetting {
  readonly model: (seed: number) => tf.LayersModel;
  readonly data: (samples: number, seed: number) => Dataset;
  readonly learningRate: number;
  readonly momentum: number;
}

/** The CNN, plain SGD at lr 0.005, on random 28×28 images. */
export const FMNIST_STEP: ProfiledSetting = {
  model: fmnistCnn,
  data: (samples, seed) => fmnistImages(samples, seed, "step-profile"),
  learningRate: 0.005,
  momentum: 0,
};

/**
 * Profiles `steps` SGD steps of `setting` (by default the CNN) at `batch` (after unprofiled runs of the same
 * length) and returns the kernels sorted by time, largest first.
 */
export async function stepProfile(batch: number, steps: number, seed: number, setting: ProfiledSetting = FMNIST_STEP): Promise<StepProfile> {
  const trainer = new Trainer(setting.model(seed));
  const data = setting.data(batch * steps, seed);
  const start = trainer.getWeights();
  const options = { epochs: 1, batchSize: batch, learningRate: setting.learningRate, momentum: setting.momentum, seed };
  try {
    let stepMs = Infinity;
    let stepWallMs = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const c0 = cpuMs();
      trainer.train(start, data, undefined, options);
      stepMs = Math.min(stepMs, (cpuMs() - c0) / steps);
      stepWallMs = Math.min(stepWallMs, (performance.now() - t0) / steps);
    }
    const backend = tf.backend() as unknown as { time(f: () => void): Promise<tf.BackendTimingInfo> };
    const hadOwnTimer = Object.prototype.hasOwnProperty.call(backend, "time");
    const ownTimer = backend.time;
    backend.time = async (f) => {
      const c = cpuMs();
      f();
      return { kernelMs: cpuMs() - c };
    };
    let info: Awaited<ReturnType<typeof tf.profile>>;
    const c0 = cpuMs();
    try {
      info = await tf.profile(() => {
        trainer.train(start, data, undefined, options);
      });
    } finally {
      if (hadOwnTimer) backend.time = ownTimer;
      else delete (backend as { time?: unknown }).time;
    }
    const profiledStepMs = (cpuMs() - c0) / steps;
    const groups = new Map<string, { kernel: string; inputShapes: string; calls: number; ms: number }>();
    for (const k of info.kernels) {
      const inputShapes = k.inputShapes.map((s) => (s === null ? "-" : `[${s.join(",")}]`)).join(" ");
      const key = `${k.name}|${inputShapes}`;
      const g = groups.get(key) ?? { kernel: k.name, inputShapes, calls: 0, ms: 0 };
      g.calls += 1;
      g.ms += k.kernelTimeMs as number;
      groups.set(key, g);
    }
    const rows: KernelRow[] = [...groups.values()].map((g) => ({
      kernel: g.kernel,
      inputShapes: g.inputShapes,
      calls: g.calls / steps,
      ms: g.ms / steps,
      share: g.ms / steps / profiledStepMs,
    }));
    const inKernels = rows.reduce((a, r) => a + r.ms, 0);
    rows.push({ kernel: "outside kernels", inputShapes: "", calls: 0, ms: profiledStepMs - inKernels, share: 1 - inKernels / profiledStepMs });
    rows.sort((a, b) => b.ms - a.ms);
    return { batch, steps, stepMs, stepWallMs, profiledStepMs, rows };
  } finally {
    trainer.dispose();
  }
}

/** The breakdown as text: one line per kernel, largest first, the small ones folded into one line. */
export function formatStepProfile(p: StepProfile, minShare = 0.01): string {
  const lines = [`training step, batch ${p.batch}: ${p.stepMs.toFixed(2)} ms CPU, ${p.stepWallMs.toFixed(2)} ms wall ` +
    `(${p.profiledStepMs.toFixed(2)} ms CPU profiled, ${p.steps} steps)`];
  let restMs = 0;
  let restCount = 0;
  for (const r of p.rows) {
    if (r.share < minShare) {
      restMs += r.ms;
      restCount += 1;
      continue;
    }
    lines.push(`   ${(100 * r.share).toFixed(1).padStart(5)} %  ${r.ms.toFixed(3).padStart(8)} ms  ${String(r.calls).padStart(3)}×  ${r.kernel} ${r.inputShapes}`);
  }
  if (restCount > 0) lines.push(`   ${(100 * restMs / p.profiledStepMs).toFixed(1).padStart(5)} %  ${restMs.toFixed(3).padStart(8)} ms        ${restCount} smaller kernels`);
  return lines.join("\n");
}
