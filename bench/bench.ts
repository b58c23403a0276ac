/**
 * `npm run bench`: fedtune's performance figures (issue 8), each a ratio of two things measured side by side in this
 * run on this machine. Prints a table and writes out/bench.json. A benchmark, not a test: it asserts nothing.
 *
 * Flags: --quick (shorter timing windows), --no-torch (skip the PyTorch baseline), --out=<path>, --only=15 (just issue
 * 15's case, its table and its per-kernel breakdown; --only=1,5,15 adds item 1, the federation overhead, and item 5,
 * aggregation; --only=3 item 3, fedtune vs PyTorch on wasm + fedtune kernels only; --only=4 item 4, the worker pool;
 * --only=18 just issue 18's secure aggregation; a comma-separated list combines them),
 * --allow-reference-blas (accept a PyTorch that did not load OpenBLAS).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "../lib/kernels/index";
import { buildCnn } from "../lib/model/cnn";
import { BenchItem, Measurement, Ratio } from "./benchTypes";
import { fitThroughput, Throughput, Workload, WORKLOADS } from "./trainingThroughput";
import { torchBaseline } from "./torchBaseline";
import { aggregationThroughput } from "./aggregationThroughput";
import { formatReport } from "./report";
import { trainerOverhead, TrainerOverhead } from "./trainerOverhead";
import { mlpStepProducts, multiplyAdds, productKernelsMs, productsMs, simdPeakGflops } from "./mlpProducts";
import { productPath } from "../lib/kernels/native";
import { formatStepProfile, MLP_STEP, stepProfile } from "./stepProfile";
import { poolSpeedup, PoolSpeedup } from "./poolSpeedup";
import { scaleMemory } from "./scaleMemory";
import { secAggItem } from "./secagg";
import { fmnistItem } from "./fmnistItem";

interface Options {
  quick: boolean;
  torch: boolean;
  out: string;
  /** Run only these items ("1", "3", "4", "5", "15", "18"); empty: everything. */
  only: Set<string>;
  allowReferenceBlas: boolean;
}

/**
 * Items that `--only` can pick: 1 (federation overhead), 3 (vs PyTorch), 4 (worker pool), 5 (aggregation), 15 (issue
 * 15's item 7), 18 (secure aggregation).
 */
const ONLY_ITEMS = ["1", "3", "4", "5", "15", "18"];

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { quick: false, torch: true, out: path.join("out", "bench.json"), only: new Set<string>(), allowReferenceBlas: false };
  for (const arg of argv) {
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-torch") options.torch = false;
    else if (arg.startsWith("--out=")) options.out = arg.slice("--out=".length);
    else if (arg.startsWith("--only=")) {
      for (const id of arg.slice("--only=".length).split(",")) {
        if (!ONLY_ITEMS.includes(id)) throw new Error(`bench: --only takes a comma-separated list of ${ONLY_ITEMS.join(", ")}, got '${id}'`);
        options.only.add(id);
      }
    }
    else if (arg === "--allow-reference-blas") options.allowReferenceBlas = true;
    else throw new Error(`bench: unknown argument '${arg}' (allowed: --quick, --no-torch, --out=<path>, --only=1,3,4,5,15,18, --allow-reference-blas)`);
  }
  return options;
}

const SEED = 8;
const TRAINING_WORKLOADS: Workload[] = ["mlp", "cnn", "head", "head-cached"];

function throughputNote(t: Throughput): string {
  return t.includesWarmup
    ? `1 batch (${t.seconds.toFixed(1)} s, time-boxed, includes first-call costs)`
    : `${t.batchesTimed} batches in ${t.seconds.toFixed(1)} s`;
}

function ratio(label: string, value: number, target: string, threshold?: number): Ratio {
  return { label, value, target, met: threshold === undefined ? undefined : value >= threshold };
}

/** Median-free, single-run timing of one kernel call (ms), after one warm-up call. */
function kernelMs(run: () => tf.Tensor, reps: number): number {
  run().dispose();
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = run();
    out.dataSync();
    out.dispose();
  }
  return (performance.now() - start) / reps;
}

async function backendItem(options: Options): Promise<{ item: BenchItem; wasm: Map<Workload, Throughput> }> {
  const budget = options.quick ? 1 : 3;
  const cpu = new Map<Workload, Throughput>();
  const wasm = new Map<Workload, Throughput>();
  await tf.setBackend("cpu");
  for (const w of TRAINING_WORKLOADS) cpu.set(w, await fitThroughput(w, budget, SEED));
  await tf.setBackend("wasm");
  // Stock wasm first (it cannot train the CNN: Conv2DBackpropFilter is missing), then with fedtune's kernels.
  unregisterWasmTrainingKernels();
  const stock = new Map<Workload, Throughput>();
  for (const w of TRAINING_WORKLOADS) if (w !== "cnn") stock.set(w, await fitThroughput(w, budget, SEED));
  registerWasmTrainingKernels();
  for (const w of TRAINING_WORKLOADS) wasm.set(w, await fitThroughput(w, budget, SEED));

  // The Conv2DBackpropInput replacement on its own, against the stock wasm kernel (conv_2's shapes in the CNN).
  const dy = tf.randomNormal([32, 14, 14, 64], 0, 1, "float32", SEED);
  const filter = tf.randomNormal([3, 3, 32, 64], 0, 1, "float32", SEED + 1);
  const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", inputShape: [32, 14, 14, 32] } as unknown as tf.NamedAttrMap;
  const backpropInput = () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, attrs) as tf.Tensor;
  const fastMs = kernelMs(backpropInput, 10);
  unregisterWasmTrainingKernels();
  const stockMs = kernelMs(backpropInput, 3);
  registerWasmTrainingKernels();
  tf.dispose([dy, filter]);

  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  for (const w of TRAINING_WORKLOADS) {
    const { batch, description } = WORKLOADS[w];
    const c = cpu.get(w)!;
    const v = wasm.get(w)!;
    measurements.push({ label: `${description}, batch ${batch}, tfjs cpu`, value: c.samplesPerS, unit: "samples/s", note: throughputNote(c) });
    const st = stock.get(w);
    if (st !== undefined) {
      measurements.push({ label: `${description}, batch ${batch}, stock wasm`, value: st.samplesPerS, unit: "samples/s", note: throughputNote(st) });
    } else {
      measurements.push({ label: `${description}, batch ${batch}, stock wasm`, value: NaN, unit: "samples/s", note: "cannot train: Conv2DBackpropFilter is not registered" });
    }
    measurements.push({ label: `${description}, batch ${batch}, wasm + fedtune kernels`, value: v.samplesPerS, unit: "samples/s", note: throughputNote(v) });
    const target = w === "cnn" ? "≥ 50×" : "—";
    ratios.push(ratio(`${w}: wasm + kernels / cpu`, v.samplesPerS / c.samplesPerS, target, w === "cnn" ? 50 : undefined));
    if (st !== undefined) ratios.push(ratio(`${w}: wasm + kernels / stock wasm`, v.samplesPerS / st.samplesPerS, "—"));
  }
  measurements.push({ label: "Conv2DBackpropInput [32,14,14,64]→[32,14,14,32], fedtune wasm", value: fastMs, unit: "ms" });
  measurements.push({ label: "Conv2DBackpropInput same shapes, stock wasm", value: stockMs, unit: "ms" });
  ratios.push(ratio("Conv2DBackpropInput: stock / fedtune time", stockMs / fastMs, "—"));
  return {
    item: { id: 2, title: "wasm + fedtune kernels vs tfjs cpu (raw model.fit, SGD+momentum)", status: "measured", measurements, ratios },
    wasm,
  };
}

/** Wasm + fedtune kernels, raw `model.fit`, on the workloads that item 3 compares (item 2 measures them beside the others). */
async function wasmThroughputs(options: Options): Promise<Map<Workload, Throughput>> {
  const wasm = new Map<Workload, Throughput>();
  for (const w of TRAINING_WORKLOADS) wasm.set(w, await fitThroughput(w, options.quick ? 1 : 3, SEED));
  return wasm;
}

/**
 * Item 3 on the wasm backend with fedtune's kernels: `wasm` is raw `model.fit`, `mlpTrainer` item 1's MLP run
 * (fedtune's `Trainer.train`, what a user gets), `pool` item 4's round (absent: no pool ratio).
 */
function torchItem(options: Options, wasm: Map<Workload, Throughput>, mlpTrainer: TrainerOverhead, pool: PoolSpeedup | undefined): BenchItem {
  const title = "vs PyTorch CPU (same model, batch, optimizer; threads matched)";
  if (!options.torch) return { id: 3, title, status: "skipped", reason: "--no-torch", measurements: [], ratios: [] };
  const mlpBatch = WORKLOADS.mlp.batch;
  const products = mlpStepProducts(mlpBatch);
  const cases = [
    { key: "mlp", workload: "mlp" as const, model: "mlp" as const, batch: mlpBatch },
    { key: "cnn", workload: "cnn" as const, model: "cnn" as const, batch: WORKLOADS.cnn.batch },
    { key: "head", workload: "head" as const, model: "head" as const, batch: WORKLOADS.head.batch },
  ];
  const gemmCase = { key: "mlp-gemm", model: "mlp" as const, batch: mlpBatch, mode: "gemm" as const, products };
  const seconds = options.quick ? 1 : 2;
  // tfjs-backend-wasm runs single-threaded under Node, so the like-for-like baseline is PyTorch on one thread; the
  // all-cores figure is what the worker pool (item 4) will be held against.
  const one = torchBaseline([...cases, gemmCase], 1, seconds, SEED, options.allowReferenceBlas);
  if (!one.ok) return { id: 3, title, status: "skipped", reason: one.reason, measurements: [], ratios: [] };
  const cores = os.cpus().length;
  const all = cores > 1 ? torchBaseline(cases, cores, seconds, SEED, options.allowReferenceBlas) : one;
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  for (const c of cases) {
    const t1 = one.samplesPerS.get(c.workload)!;
    measurements.push({ label: `PyTorch ${one.version}, ${c.workload}, batch ${c.batch}, 1 thread`, value: t1, unit: "samples/s", note: `BLAS: ${one.blas}` });
    if (all.ok && all !== one) {
      measurements.push({ label: `PyTorch, ${c.workload}, batch ${c.batch}, ${all.threads} threads`, value: all.samplesPerS.get(c.workload)!, unit: "samples/s" });
    }
    ratios.push(ratio(`${c.workload}: wasm (1 thread) / PyTorch 1 thread`, wasm.get(c.workload)!.samplesPerS / t1, "—"));
    if (c.workload === "mlp") {
      const trainerRate = mlpTrainer.samples / mlpTrainer.trainerSeconds;
      measurements.push({ label: `fedtune Trainer.train, mlp, batch ${c.batch}, 1 thread (what a fedtune user runs)`, value: trainerRate, unit: "samples/s",
        note: "item 1's run" });
      ratios.push(ratio("mlp: fedtune Trainer.train (1 thread) / PyTorch 1 thread", trainerRate / t1, "≥ 1×", 1));
    }
  }
  // The ceiling of the MLP case: its step's matrix products alone, on fedtune's BatchMatMul and on torch.mm.
  const torchStepMs = (1000 * mlpBatch) / one.samplesPerS.get("mlp")!;
  const torchGemmMs = (1000 * mlpBatch) / one.samplesPerS.get("mlp-gemm")!;
  const gemmMs = productsMs(products, options.quick ? 50 : 200, 5, SEED);
  const macs = multiplyAdds(products);
  const gflops = (ms: number) => `${((2 * macs) / ms / 1e6).toFixed(1)} GFLOP/s`;
  const path1 = productPath();
  measurements.push({ label: `mlp step's ${products.length} matrix products alone (${(macs / 1e6).toFixed(1)} M multiply-adds), fedtune BatchMatMul`, value: gemmMs,
    unit: "ms", note: `${gflops(gemmMs)}; products: ${path1}; transposes included, as the step runs them` });
  // The product kernels alone, no tfjs around them: the table in use (native where it runs) and the wasm one.
  const kernelMs = productKernelsMs(products, "in use", options.quick ? 50 : 200, 5, SEED);
  const wasmKernelMs = productKernelsMs(products, "wasm", options.quick ? 50 : 200, 5, SEED);
  measurements.push({ label: `the same products on fedtune's product kernel alone (${path1})`, value: kernelMs, unit: "ms", note: gflops(kernelMs) });
  measurements.push({ label: "the same products on the wasm product kernel alone (FEDTUNE_NATIVE=0, or off x86-64 Linux)", value: wasmKernelMs, unit: "ms", note: gflops(wasmKernelMs) });
  measurements.push({ label: "the same products, PyTorch torch.mm, 1 thread", value: torchGemmMs, unit: "ms", note: gflops(torchGemmMs) });
  measurements.push({ label: "PyTorch's whole mlp step (forward, backward, SGD update), 1 thread", value: torchStepMs, unit: "ms" });
  ratios.push(ratio("mlp ceiling: PyTorch whole step / fedtune's products alone (< 1×: the products alone take longer than PyTorch's step)", torchStepMs / gemmMs, "—"));
  ratios.push(ratio("mlp products: torch.mm / fedtune BatchMatMul (1 thread)", torchGemmMs / gemmMs, "—"));
  ratios.push(ratio(`mlp products, kernels alone: wasm time / ${path1} time (speed-up of the native products)`, wasmKernelMs / kernelMs, "—"));
  // The ceiling of the wasm-only path: the same products at this machine's wasm SIMD128 peak for separate multiply and
  // add, measured now (the native products, with 512-bit vectors, are not bound by it).
  const peak = simdPeakGflops(options.quick ? 2_000_000 : 5_000_000, 5);
  const atPeakMs = (2 * macs) / peak / 1e6;
  measurements.push({ label: "wasm SIMD128 peak, separate multiply + add, registers only (simd_peak), 1 thread", value: peak, unit: "GFLOP/s",
    note: `the wasm product kernel above runs at ${((100 * (2 * macs)) / wasmKernelMs / 1e6 / peak).toFixed(0)} % of it` });
  measurements.push({ label: `the mlp step's ${(2 * macs / 1e6).toFixed(1)} MFLOP of products at that peak`, value: atPeakMs, unit: "ms",
    note: `PyTorch's whole step: ${torchStepMs.toFixed(3)} ms` });
  ratios.push(ratio("mlp ceiling of the wasm-only path at wasm SIMD peak: PyTorch whole step / the step's products at peak (< 1×: 1× PyTorch is out of reach even with " +
    "free loads and no other work)", torchStepMs / atPeakMs, "—"));
  const headTorch = one.samplesPerS.get("head")!;
  ratios.push(ratio("head-only: wasm on cached features / PyTorch naive loop (1 thread)",
    wasm.get("head-cached")!.samplesPerS / headTorch, "> 1× (fedtune's cached loop, not yet written)", 1));
  const poolSeconds = pool?.poolSeconds.get(cores);
  const torchAll = all.ok ? all.samplesPerS.get("cnn") : undefined;
  const poolRate = poolSeconds === undefined || pool === undefined ? NaN : pool.samplesPerRound / poolSeconds;
  if (Number.isFinite(poolRate)) measurements.push({ label: `fedtune CNN local training, worker pool of ${cores} (item 4's round)`, value: poolRate, unit: "samples/s" });
  if (pool !== undefined) ratios.push(ratio(`cnn: worker pool (${cores}) / PyTorch ${cores} threads`, torchAll === undefined ? NaN : poolRate / torchAll, "≥ 0.25×", 0.25));
  return {
    id: 3,
    title,
    status: "measured",
    reason: "head-cached uses raw tfjs on precomputed features; the pool figure is item 4's round (fedtune Trainer, batch 32, includes validation)",
    measurements,
    ratios,
  };
}

async function aggregationItem(options: Options): Promise<BenchItem> {
  // The layer sizes of the default CNN: what a FedAvg round actually averages.
  const model = buildCnn({ numClasses: 10, seed: SEED });
  const sizes = model.getWeights().map((w) => w.size);
  model.dispose();
  const participants = 10;
  const r = await aggregationThroughput(sizes, participants, options.quick ? 1 : 4, SEED);
  const gb = 1e9;
  const t = r.aggregateThreads;
  return {
    id: 5,
    title: `aggregation (weightedAverage) vs memcpy, ${participants} participants × ${r.parameters} parameters`,
    status: "measured",
    reason:
      `fastest of ${r.calls} single calls each, alternating; weightedAverage is timed as the round calls it (checks, fresh result arrays, ` +
      `sum, copy out): on the worker pool's updates (${r.aggregateInArena ? "in the update arena, summed in place" : "SharedArrayBuffers: no shared wasm memory here"}) on ${t} thread${t > 1 ? "s" : ""}, ` +
      "on updates each in a SharedArrayBuffer (the pool before the arena, and when it is full: each block copied into wasm memory first), " +
      "and on ordinary arrays (the serial executor's) on 1 thread; memcpy copies the same inputs (ordinary arrays) into preallocated arrays. " +
      "Hand-over: what a fit worker's copy of its update costs, into an arena block now vs a new SharedArrayBuffer before (timed here, per update)",
    measurements: [
      { label: `weightedAverage input throughput, ${r.aggregateInArena ? "updates in the arena" : "shared updates"} (worker pool), ${t} thread${t > 1 ? "s" : ""}`, value: r.aggregateBytesPerS / gb, unit: "GB/s" },
      { label: "weightedAverage input throughput, updates in the arena, 1 thread (helper off)", value: r.aggregateArenaOneThreadBytesPerS / gb, unit: "GB/s" },
      { label: `weightedAverage input throughput, updates in SharedArrayBuffers (copy-in; the pool's fallback), ${t} thread${t > 1 ? "s" : ""}`, value: r.aggregateSharedBytesPerS / gb, unit: "GB/s" },
      { label: "weightedAverage input throughput, ordinary arrays (serial executor), 1 thread", value: r.aggregateOneThreadBytesPerS / gb, unit: "GB/s" },
      { label: "weightedAverage input throughput, updates in SharedArrayBuffers, 1 thread (helper off)", value: r.aggregateSharedOneThreadBytesPerS / gb, unit: "GB/s" },
      { label: "hand-over per update: fit worker's copy into an arena block (+ allocate, release)", value: r.handOver.arenaS * 1e3, unit: "ms" },
      { label: "hand-over per update: fit worker's copy into a new SharedArrayBuffer (before)", value: r.handOver.sharedArrayBufferS * 1e3, unit: "ms" },
      { label: "hand-over per update: main thread's adopt (views + FinalizationRegistry)", value: r.handOver.adoptS * 1e3, unit: "ms" },
      { label: "memcpy (Float32Array.set) of the same inputs, 1 thread", value: r.memcpyBytesPerS / gb, unit: "GB/s" },
      { label: "memcpy of the same inputs, 2 threads (each half of the coordinates)", value: r.memcpyTwoThreadsBytesPerS / gb, unit: "GB/s" },
      { label: "plainest exact loop (acc[k] += x[k] into Float64) over the same inputs, 1 thread", value: r.float64LoopBytesPerS / gb, unit: "GB/s" },
      { label: "the wasm sum alone, inputs already in its memory (not what the round does), 1 thread", value: r.residentSumBytesPerS / gb, unit: "GB/s" },
    ],
    ratios: [
      { ...ratio(`weightedAverage (${t} thread${t > 1 ? "s" : ""}, as the pool's round) / memcpy (1 thread)`, r.aggregateBytesPerS / r.memcpyBytesPerS, "≥ 50 %", 0.5), unit: "%" },
      { ...ratio(`weightedAverage (${t} thread${t > 1 ? "s" : ""}) / memcpy (2 threads)`, r.aggregateBytesPerS / r.memcpyTwoThreadsBytesPerS, "—"), unit: "%" },
      { ...ratio("weightedAverage (1 thread, ordinary arrays) / memcpy (1 thread)", r.aggregateOneThreadBytesPerS / r.memcpyBytesPerS, "—"), unit: "%" },
      ratio(`weightedAverage on the pool's updates: 1-thread time / ${t}-thread time`, r.aggregateBytesPerS / r.aggregateArenaOneThreadBytesPerS, "—"),
      ratio(`weightedAverage, ${t} thread${t > 1 ? "s" : ""}: updates in the arena / in SharedArrayBuffers (speed)`, r.aggregateBytesPerS / r.aggregateSharedBytesPerS, "—"),
      ratio("hand-over per update: arena block (+ adopt) / new SharedArrayBuffer (time)", (r.handOver.arenaS + r.handOver.adoptS) / r.handOver.sharedArrayBufferS, "—"),
      ratio("weightedAverage (1 thread) / plainest Float64 sum loop", r.aggregateOneThreadBytesPerS / r.float64LoopBytesPerS, "—"),
      { ...ratio("the wasm sum alone on resident inputs / memcpy (1 thread each)", r.residentSumBytesPerS / r.memcpyBytesPerS, "—"), unit: "%" },
      // Where the helper thread starts to pay (the default threshold, minInputBytes, is 4 MiB).
      ...r.thresholdScan.map((x) =>
        ratio(`weighted sum of ${(x.inputBytes / 1048576).toFixed(0)} MiB of updates in the arena: 1-thread time / 2-thread time`, x.oneThreadS / x.twoThreadsS, "—"),
      ),
    ],
  };
}

/** Item 1, and its MLP run (item 3 prints its Trainer rate beside PyTorch). */
async function overheadItem(options: Options): Promise<{ item: BenchItem; mlp: TrainerOverhead }> {
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  let mlp: TrainerOverhead | undefined;
  const cases: Array<{ workload: Workload; batches: number }> = options.quick
    ? [{ workload: "mlp", batches: 40 }, { workload: "cnn", batches: 4 }]
    : [{ workload: "mlp", batches: 100 }, { workload: "cnn", batches: 12 }];
  for (const c of cases) {
    const r = await trainerOverhead(c.workload, c.batches, options.quick ? 2 : 3, SEED);
    if (c.workload === "mlp") mlp = r;
    const { batch, description } = WORKLOADS[c.workload];
    measurements.push({ label: `${description}, batch ${batch}, raw model.fit (shuffle off)`, value: r.samples / r.fitSeconds, unit: "samples/s", note: `best of runs of ${r.samples} samples` });
    measurements.push({ label: `${description}, batch ${batch}, fedtune Trainer.train`, value: r.samples / r.trainerSeconds, unit: "samples/s", note: `best of runs of ${r.samples} samples` });
    ratios.push(ratio(`${c.workload}: overhead = Trainer time / model.fit time − 1`, r.trainerSeconds / r.fitSeconds - 1, "≤ 3 %"));
    ratios.push(ratio(`${c.workload}: overhead in CPU time (not inflated by other processes on a shared machine)`, r.trainerCpuSeconds / r.fitCpuSeconds - 1, "≤ 3 %"));
  }
  const item: BenchItem = {
    id: 1,
    title: "fedtune local training (Trainer.train) vs raw tfjs model.fit, same backend, model, batch",
    status: "measured",
    reason: "overhead is a fraction (0.03 = 3 %); negative means fedtune is faster",
    measurements,
    // The ratio here is an overhead, smaller is better: mark it by hand.
    ratios: ratios.map((r) => ({ ...r, unit: "%" as const, met: r.value <= 0.03 })),
  };
  return { item, mlp: mlp! };
}

function poolItem(options: Options, r: PoolSpeedup): BenchItem {
  const measurements: Measurement[] = [
    { label: `${r.participants} participants × CNN local training, serial (this thread)`, value: r.serialSeconds, unit: "s/round", note: `${r.samplesPerRound} samples` },
  ];
  const ratios: Ratio[] = [];
  const one = r.poolSeconds.get(1);
  const jobs = (key: "serial" | number) => r.jobSeconds.get(key) ?? NaN;
  measurements.push({ label: "one job (a participant's fit), serial", value: jobs("serial"), unit: "s", note: "mean over the fastest round's jobs" });
  const cost = (key: "serial" | number) => r.roundCost.get(key);
  const costNote = (key: "serial" | number) => {
    const c = cost(key);
    return c ? `${c.minorFaults.toLocaleString("en-US")} minor page faults; threads waited ${(1000 * c.waitSeconds).toFixed(0)} ms for a core` : "";
  };
  measurements.push({ label: "process CPU time (all threads) of the serial round", value: cost("serial")?.cpuSeconds ?? NaN, unit: "s", note: costNote("serial") });
  for (const [size, seconds] of r.poolSeconds) {
    measurements.push({ label: `same round, worker pool of ${size}`, value: seconds, unit: "s/round" });
    // A round of equal jobs on `size` lanes: the jobs' own time per lane, and the rest (messages, weights in and out, waiting).
    const perLane = (jobs(size) * r.participants) / size;
    measurements.push({ label: `one job, timed in its worker, pool of ${size}`, value: jobs(size), unit: "s",
      note: `round − jobs' time per lane = ${(1000 * (seconds - perLane)).toFixed(0)} ms outside the fits` });
    measurements.push({ label: `process CPU time (all threads) of the round, pool of ${size}`, value: cost(size)?.cpuSeconds ?? NaN, unit: "s", note: costNote(size) });
    if (size > 1 && one !== undefined) {
      ratios.push(ratio(`pool ${size} vs pool 1 (speedup)`, one / seconds, size === 2 ? "≥ 1.7×" : "—", size === 2 ? 1.7 : undefined));
      ratios.push(ratio(`one job's time, pool ${size} / pool 1 (> 1×: the fits slow each other down on the shared cores)`, jobs(size) / jobs(1), "—"));
    }
    ratios.push(ratio(`pool ${size} vs serial in-process (speedup)`, r.serialSeconds / seconds, "—"));
    ratios.push(ratio(`process CPU time of the round, pool ${size} / serial (> 1×: the pool costs more work)`, (cost(size)?.cpuSeconds ?? NaN) / (cost("serial")?.cpuSeconds ?? NaN), "—"));
  }
  return { id: 4, title: `worker pool vs one worker (${os.cpus().length} cores)`, status: "measured", measurements, ratios, reason: options.quick ? "--quick: fewer participants" : undefined };
}

function scaleItem(options: Options): BenchItem {
  const sizes = [
    { participants: 10, workers: 0 },
    { participants: 100, workers: 0 },
    { participants: 1000, workers: 0 },
    ...(options.quick ? [] : [{ participants: 1000, workers: 2 }]),
  ];
  const outcomes = scaleMemory(sizes, 3, "wasm");
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  const mib = 2 ** 20;
  for (const o of outcomes) {
    if (!o.ok) {
      measurements.push({ label: `${o.participants} participants`, value: NaN, unit: "", note: o.reason });
      continue;
    }
    const r = o.result;
    const who = `${r.participants} participants (${r.sampledPerRound} sampled/round, all evaluated), ${r.workers > 0 ? `${r.workers} workers` : "in-process"}`;
    measurements.push({ label: `${who}: peak RSS`, value: r.peakRssBytes / mib, unit: "MiB", note: `tensors ${r.tensorsBefore} → ${r.tensorsAfter}` });
    measurements.push({ label: `${who}: round time`, value: r.roundSeconds, unit: "s", note: `rounds 2–${r.rounds}; round 1 ${r.firstRoundSeconds.toFixed(2)} s` });
    if (r.participants === 1000) {
      const label = `1,000 participants${r.workers > 0 ? ` (${r.workers} workers)` : ""}: peak RSS / 2 GiB`;
      ratios.push({ label, value: r.peakRssBytes / 2 ** 31, target: "< 1", met: r.peakRssBytes < 2 ** 31 });
    }
  }
  return {
    id: 6,
    title: "peak RSS and round time for 10 / 100 / 1,000 virtual participants (MLP 64-32-10 on digits, 10 % sampled, 3 rounds, one child process each)",
    status: "measured",
    measurements,
    ratios,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const items: BenchItem[] = [];
  const all = options.only.size === 0;
  if (all) {
    await fullBench(options, items);
  } else {
    if (["1", "3", "4", "5", "15"].some((id) => options.only.has(id))) {
      await tf.setBackend("wasm");
      registerWasmTrainingKernels();
    }
    const overhead = options.only.has("1") || options.only.has("3") ? await overheadItem(options) : undefined;
    if (overhead && options.only.has("1")) items.push(overhead.item);
    const pool = options.only.has("4") ? await poolRound(options) : undefined;
    if (overhead && options.only.has("3")) items.push(torchItem(options, await wasmThroughputs(options), overhead.mlp, pool));
    if (pool) items.push(poolItem(options, pool));
    if (options.only.has("5")) items.push(await aggregationItem(options));
    if (options.only.has("18")) items.push(secAggItem(options.quick, SEED));
  }
  const fmnist = all || options.only.has("15") ? await fmnistItem({ ...options, outDir: path.dirname(options.out), seed: SEED }) : undefined;
  if (fmnist) items.push(fmnist.item);
  const report = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", memoryGiB: os.totalmem() / 2 ** 30 },
    node: process.version,
    tfjs: tf.version.tfjs,
    wasm: { simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT") },
    products: productPath(),
    options,
    seconds: (performance.now() - started) / 1000,
    items,
  };
  console.log(`\nmatrix products: ${productPath()} (FEDTUNE_NATIVE=0 runs the wasm-only path; both give the same bits)`);
  console.log(formatReport(items));
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  if (fmnist) {
    const tableFile = path.join(path.dirname(options.out), "issue15-table.md");
    fs.writeFileSync(tableFile, fmnist.table + "\n");
    console.log(`\nissue 15's table (batch 10, plain SGD; also in ${tableFile}):\n${fmnist.table}`);
    console.log(`\nper-kernel breakdown of one training step (item 7's CNN; also in ${path.join(path.dirname(options.out), "step-profile.txt")}):\n${fmnist.breakdown}`);
  }
  if (all || options.only.has("3")) {
    // Where item 3's MLP step goes: its kernels, and what runs outside them.
    await tf.setBackend("wasm");
    registerWasmTrainingKernels();
    const mlp = await stepProfile(WORKLOADS.mlp.batch, options.quick ? 100 : 300, SEED, MLP_STEP);
    const breakdown = formatStepProfile(mlp, 0.005);
    const file = path.join(path.dirname(options.out), "step-profile-mlp.txt");
    fs.writeFileSync(file, breakdown + "\n");
    fs.writeFileSync(path.join(path.dirname(options.out), "step-profile-mlp.json"), JSON.stringify(mlp, null, 2) + "\n");
    console.log(`\nper-kernel breakdown of one training step (item 3's MLP, Trainer.train; also in ${file}):\n${breakdown}`);
  }
  fs.writeFileSync(options.out, JSON.stringify(report, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n");
  console.log(`\nwrote ${options.out} (${report.seconds.toFixed(0)} s)`);
}

/**
 * Item 4's measurement: one round of CNN local training, serial and on pools of 1 and all cores, each after 4 untimed
 * rounds (a run's steady state: the update arena reuses its blocks from about the third round on; before, every update
 * is fresh pages), the fastest of 3 timed rounds.
 */
function poolRound(options: Options): Promise<PoolSpeedup> {
  const cores = os.cpus().length;
  return poolSpeedup(options.quick ? 4 : 8, 96, cores > 1 ? [1, cores] : [1], options.quick ? 1 : 3, SEED, undefined, options.quick ? 1 : 4);
}

/** Items 1–6 (issue 8's bench). */
async function fullBench(options: Options, items: BenchItem[]): Promise<void> {
  const { item: backends, wasm } = await backendItem(options);
  // Items 1 and 4 run on wasm with fedtune's kernels, as left by item 2 (the workers start the same backend).
  const overhead = await overheadItem(options);
  items.push(overhead.item);
  items.push(backends);
  const pool = await poolRound(options);
  items.push(torchItem(options, wasm, overhead.mlp, pool));
  items.push(poolItem(options, pool));
  items.push(await aggregationItem(options));
  items.push(scaleItem(options));
  items.push(secAggItem(options.quick, SEED));
}

main().catch((e: unknown) => {
  // Print only the message: tfjs-backend-wasm's uncaught-exception hook would dump its whole minified source.
  console.error(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
