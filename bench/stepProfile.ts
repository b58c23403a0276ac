/**
 * Per-kernel time breakdown of fedtune's training step (issue 15): every kernel registered on the backend is wrapped,
 * for the profiled run only, by a wall-clock timer around its top-level calls (a kernel that fedtune's kernels call
 * inside their own counts towards the caller), and `Trainer.train` runs as usual. Grouped by kernel name and input
 * shapes. What the kernels do not account for (gradient tape, tidy scopes, tensor creation and disposal, kernel
 * dispatch, the Trainer's per-batch JavaScript) is reported as one more row, "outside kernels": the profiled step's
 * wall time minus the kernels' time.
 *
 * Why not `tf.profile`: it reads back every kernel's output to check it for NaN, which made the profiled step take ~1.7×
 * as long as a plain one and put that extra time in "outside kernels" (2.7 ms of an 8.4 ms batch-10 step; with the
 * timers here it is ~1.1 ms). The timers cost two `performance.now()` calls per kernel.
 *
 * The unprofiled step is also timed in this process's CPU time (`process.cpuUsage`): on a shared machine wall time also
 * counts the time other processes ran, CPU time only the work done. The breakdown is the best (shortest) of three
 * profiled runs, in wall time.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../lib/data/dataset";
import { Trainer } from "../lib/model/trainer";
import { Rng } from "../lib/util/rng";
import { fmnistCnn, fmnistImages } from "./fmnistCnn";
import { buildWorkload } from "./trainingThroughput";

/** Time of one kernel (by name and input shapes) per training step. */
export interface KernelRow {
  readonly kernel: string;
  readonly inputShapes: string;
  /** Calls per step. */
  readonly calls: number;
  /** Milliseconds per step (wall time). */
  readonly ms: number;
  /** Share of the profiled step time. */
  readonly share: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** One top-level kernel call of a profiled run. */
interface KernelCall {
  readonly kernel: string;
  /** The call's inputs (their shapes are read after the run, so that the timed run does no string work). */
  readonly inputs: tf.NamedTensorInfoMap;
  readonly ms: number;
}

/**
 * Wraps every kernel registered for the current backend by a timer that records its top-level calls into `calls`;
 * `restore()` puts the original registrations back (the same config objects, so registration checks still see them).
 */
function timeKernels(): { calls: KernelCall[]; restore(): void } {
  const backendName = tf.getBackend();
  const originals = tf.getKernelsForBackend(backendName);
  const calls: KernelCall[] = [];
  let depth = 0;
  for (const config of originals) {
    const inner = config.kernelFunc;
    const timedFunc: tf.KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        const ms = performance.now() - t0;
        depth--;
        calls.push({ kernel: config.kernelName, inputs: args.inputs, ms });
      }
    };
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc: timedFunc });
  }
  return {
    calls,
    restore() {
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    },
  };
}

/** The breakdown of one step at one batch size. */
export interface StepProfile {
  readonly batch: number;
  readonly steps: number;
  /** CPU time per step without profiling (best of the runs). */
  readonly stepMs: number;
  /** Wall time per step without profiling (best of the runs). */
  readonly stepWallMs: number;
  /** Wall time per step of the profiled run (best of three): the kernels' rows and "outside kernels" add up to it. */
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

/** Bench item 3's MLP 784-128-10 (item 1's run: SGD lr 0.01, momentum 0.9) on seeded normal inputs and random labels. */
export const MLP_STEP: ProfiledSetting = {
  model: (seed) => buildWorkload("mlp", seed).model,
  data: (samples, seed) => {
    const rng = new Rng(seed);
    const x = new Float32Array(samples * 784);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = Int32Array.from({ length: samples }, () => rng.int(10));
    return { name: "step-profile-mlp", x, y, sampleShape: [784], numClasses: 10, classNames: Array.from({ length: 10 }, (_, c) => String(c)) };
  },
  learningRate: 0.01,
  momentum: 0.9,
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
    const timed = timeKernels();
    let calls: KernelCall[] = [];
    let profiledStepMs = Infinity;
    try {
      for (let r = 0; r < 3; r++) {
        timed.calls.length = 0;
        const t0 = performance.now();
        trainer.train(start, data, undefined, options);
        const ms = (performance.now() - t0) / steps;
        if (ms < profiledStepMs) {
          profiledStepMs = ms;
          calls = [...timed.calls];
        }
      }
    } finally {
      timed.restore();
    }
    const groups = new Map<string, { kernel: string; inputShapes: string; calls: number; ms: number }>();
    for (const k of calls) {
      const inputShapes = Object.values(k.inputs).map((t) => (t == null ? "-" : `[${t.shape.join(",")}]`)).join(" ");
      const key = `${k.kernel}|${inputShapes}`;
      const g = groups.get(key) ?? { kernel: k.kernel, inputShapes, calls: 0, ms: 0 };
      g.calls += 1;
      g.ms += k.ms;
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
    `(${p.profiledStepMs.toFixed(2)} ms wall with kernel timers, ${p.steps} steps)` +
    (p.stepWallMs > 1.2 * p.stepMs ? "; wall time well above CPU time: the machine was busy, and the rows below, in wall time, include waiting" : "")];
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
