import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { weightedAverage, WeightedWeights } from "../lib/federation/aggregate";
import { WEIGHTED_SUM_WASM_FILE } from "../lib/kernels/weightedSum";
import { configureWeightedSumThreads, prepareWeightedSumThread, weightedSumAll } from "../lib/kernels/weightedSumThreads";
import { toSharedWeights } from "../lib/model/sharedWeights";
import { UpdateArena, arenaLayout, updateArena, writeToArena } from "../lib/kernels/updateArena";
import { Rng } from "../lib/util/rng";

/** Input bytes per second of `weightedAverage`, of a plain copy of the same bytes, and of the parts of the first. */
export interface AggregationThroughput {
  readonly participants: number;
  readonly parameters: number;
  /**
   * `weightedAverage(updates)` as a round on the worker pool calls it: updates in the update arena (as fit workers
   * write them), 2 threads (this one and the weighted-sum helper); checks, fresh result arrays, the sum in place, copy
   * out. Where the arena is unavailable, the SharedArrayBuffer path (`aggregateSharedBytesPerS`), as the pool then runs.
   */
  readonly aggregateBytesPerS: number;
  /** Whether `aggregateBytesPerS` ran on updates in the arena. */
  readonly aggregateInArena: boolean;
  /** Threads `aggregateBytesPerS` used: 2, or 1 where the helper could not start. */
  readonly aggregateThreads: number;
  /** The arena updates on one thread (the helper off). */
  readonly aggregateArenaOneThreadBytesPerS: number;
  /** Updates each in a SharedArrayBuffer of its own (the pool's path before the arena, and its fallback when full), 2 threads: copy in, sum, copy out. */
  readonly aggregateSharedBytesPerS: number;
  /**
   * What the round pays outside `weightedAverage` to have its updates in the arena, per update, against what it paid
   * before: the fit worker's copy of the update into an arena block (plus the main thread's allocate and release)
   * against its copy into a new SharedArrayBuffer (`toSharedWeights`); and the main thread's `adopt` (views, registry).
   */
  readonly handOver: { readonly arenaS: number; readonly sharedArrayBufferS: number; readonly adoptS: number };
  /** `weightedAverage` on ordinary arrays (as the serial executor's round calls it): one thread. */
  readonly aggregateOneThreadBytesPerS: number;
  /** `weightedAverage` on the shared updates on one thread (the helper off): what copying out of shared memory costs. */
  readonly aggregateSharedOneThreadBytesPerS: number;
  /** `Float32Array.set` of every input (ordinary arrays) into preallocated arrays, one thread. */
  readonly memcpyBytesPerS: number;
  /** The same copy on 2 threads, each copying half of the coordinates from its own ordinary arrays. */
  readonly memcpyTwoThreadsBytesPerS: number;
  /** `acc[k] += x[k]` into a cache-resident Float64Array: what scalar JavaScript can do per input byte at best. */
  readonly float64LoopBytesPerS: number;
  /** The wasm sum alone, on inputs already in its memory (what resident updates would cost; not what the round does). */
  readonly residentSumBytesPerS: number;
  /** Calls timed per body. */
  readonly calls: number;
  /** For the helper's threshold: the fastest 1-thread and 2-thread call on shared inputs of a few sizes (10 participants). */
  readonly thresholdScan: ReadonlyArray<{ readonly inputBytes: number; readonly oneThreadS: number; readonly twoThreadsS: number }>;
}

/**
 * Time single calls of each body in turn until `seconds` have passed (at least 20 rounds); the fastest call of each
 * counts. Single calls of a millisecond or two are mostly not interrupted even on a shared machine, so the minimum is
 * close to the quiet machine's figure, and every body gets the same chances.
 */
function interleaved(seconds: number, bodies: ReadonlyArray<() => void>): { best: number[]; calls: number } {
  for (let r = 0; r < 3; r++) for (const b of bodies) b(); // warm-up (JIT, page faults)
  const best = bodies.map(() => Infinity);
  const start = performance.now();
  let calls = 0;
  while (calls < 20 || performance.now() - start < seconds * 1000) {
    bodies.forEach((body, i) => {
      const t = performance.now();
      body();
      best[i] = Math.min(best[i], (performance.now() - t) / 1000);
    });
    calls++;
  }
  return { best, calls };
}

/** The committed weighted_sum.wasm on a memory of its own holding every update's variables back to back. */
function residentSum(updates: readonly WeightedWeights[], layerSizes: readonly number[]): () => void {
  const p = updates.length;
  const parameters = layerSizes.reduce((a, b) => a + b, 0);
  // Variables padded to 16-byte rows; factors first, then the p rows of every variable, then one output row.
  const padded = layerSizes.map((n) => Math.ceil(n / 4) * 4);
  const rowFloats = padded.reduce((a, b) => a + b, 0);
  const rowsAt = Math.ceil((p * 8) / 16) * 16;
  const outAt = rowsAt + p * rowFloats * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((outAt + rowFloats * 4) / 65536) });
  const module = new WebAssembly.Module(fs.readFileSync(WEIGHTED_SUM_WASM_FILE));
  const sum = (new WebAssembly.Instance(module, { env: { memory } }).exports as { weighted_sum: (...a: number[]) => number }).weighted_sum;
  new Float64Array(memory.buffer, 0, p).set(updates.map((u) => u.numExamples));
  const total = updates.reduce((a, u) => a + u.numExamples, 0);
  let offset = 0;
  const at: number[] = [];
  layerSizes.forEach((n, v) => {
    at.push(offset);
    updates.forEach((u, i) => new Float32Array(memory.buffer, rowsAt + (i * rowFloats + offset) * 4, n).set(u.weights[v].values));
    offset += padded[v];
  });
  if (parameters === 0) return () => undefined;
  // Each variable: p rows `rowFloats` apart, summed in place; nothing is copied in or out.
  return () => layerSizes.forEach((n, v) => sum(rowsAt + at[v] * 4, p, rowFloats, 0, total, outAt + at[v] * 4, n));
}

/** Seconds per `adopt` of an update of `variables` variables (views and their registration; sizes do not matter). */
function adoptSeconds(variables: number): number {
  const arena = new UpdateArena(8 << 20);
  const layout = arenaLayout(new Array<number>(variables).fill(4));
  const weights = layout.offsets.map((_, v) => ({ name: `v${v}`, shape: [4], values: new Float32Array(4) }));
  const n = 2000;
  const blocks = Array.from({ length: n }, () => arena.allocate(layout.bytes)!);
  const t = performance.now();
  for (const b of blocks) arena.adopt(b, layout, weights);
  return (performance.now() - t) / 1000 / n;
}

/**
 * memcpy on 2 threads: this thread copies the first half of the concatenated coordinates, a worker (memcpyWorker.js)
 * the second half from its own ordinary copy of them, each into its own preallocated arrays. Returns the body and a
 * function that ends the worker.
 */
async function twoThreadMemcpy(updates: readonly WeightedWeights[]): Promise<{ body: () => void; close: () => Promise<void> }> {
  const parameters = updates[0].weights.reduce((a, w) => a + w.values.length, 0);
  const split = Math.floor(parameters / 2);
  // Each side's pieces: [participant][piece] ordinary arrays; the worker gets copies of its half (sent, then owned).
  const pieces = (from: number, to: number): Float32Array[][] =>
    updates.map((u) => {
      const out: Float32Array[] = [];
      let start = 0;
      for (const w of u.weights) {
        const n = w.values.length;
        const lo = Math.max(from, start) - start;
        const hi = Math.min(to, start + n) - start;
        if (hi > lo) out.push(w.values.slice(lo, hi));
        start += n;
      }
      return out;
    });
  const mine = pieces(0, split);
  const targets = mine[0].map((x) => new Float32Array(x.length));
  const control = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(path.join(__dirname, "memcpyWorker.js"), { workerData: { control, inputs: pieces(split, parameters) } });
  while (Atomics.load(control, 0) !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const body = (): void => {
    Atomics.store(control, 0, 2);
    Atomics.notify(control, 0);
    for (const u of mine) u.forEach((x, i) => targets[i].set(x));
    while (Atomics.load(control, 0) === 2) Atomics.wait(control, 0, 2);
    Atomics.store(control, 0, 1);
  };
  const close = async (): Promise<void> => {
    Atomics.store(control, 0, 3);
    Atomics.notify(control, 0);
    await new Promise((resolve) => worker.once("exit", resolve));
  };
  return { body, close };
}

/**
 * `weightedSumAll` on 10 participants × 1–16 MiB in the update arena (as the pool's updates), one thread against two
 * (the helper used from any size), fastest of alternating single calls: where the helper starts to pay.
 */
function thresholdScan(seconds: number): AggregationThroughput["thresholdScan"] {
  const previous = configureWeightedSumThreads({ minInputBytes: 0 });
  try {
    return [1, 2, 4, 8, 16].map((mib) => {
      const p = 10;
      const n = Math.floor((mib * 1048576) / 4 / p);
      const rng = new Rng(mib);
      // Where the pool's updates are: in the update arena (else in SharedArrayBuffers).
      const arena = updateArena();
      const layout = arenaLayout([n]);
      const inputs = Array.from({ length: p }, () => {
        const x = new Float32Array(n);
        for (let k = 0; k < n; k++) x[k] = rng.normal();
        const block = arena?.allocate(layout.bytes);
        if (arena === undefined || block === undefined) return toSharedWeights([{ name: "x", shape: [n], values: x }])[0].values;
        return arena.adopt(block, layout, writeToArena(arena.memory, block, layout, [{ name: "x", shape: [n], values: x }])!)[0].values;
      });
      const factors = inputs.map((_, i) => i + 1);
      const out = new Float32Array(n);
      const call = (threads: 1 | 2) => (): void => {
        configureWeightedSumThreads({ threads });
        weightedSumAll([{ out, inputs }], factors, 55);
      };
      const { best } = interleaved(seconds, [call(1), call(2)]);
      return { inputBytes: p * n * 4, oneThreadS: best[0], twoThreadsS: best[1] };
    });
  } finally {
    configureWeightedSumThreads(previous);
  }
}

/**
 * Times FedAvg's weighted average of `participants` updates with the given layer sizes, as the round calls it (updates
 * in shared memory, 2 threads) and on ordinary arrays (1 thread), against (a) copying every input array into one
 * output buffer (`Float32Array.set`, i.e. memcpy) on one and on two threads, (b) summing every input into a Float64
 * block with the plainest loop and (c) the wasm sum alone on inputs already in its memory. All consume the same input
 * bytes; single calls alternate, so a busy neighbour slows all alike.
 */
export async function aggregationThroughput(layerSizes: readonly number[], participants: number, seconds: number, seed = 8): Promise<AggregationThroughput> {
  const rng = new Rng(seed);
  const updates: WeightedWeights[] = [];
  for (let p = 0; p < participants; p++) {
    const weights = layerSizes.map((size, i) => {
      const values = new Float32Array(size);
      for (let k = 0; k < size; k++) values[k] = rng.normal();
      return { name: `layer_${i}`, shape: [size], values };
    });
    updates.push({ weights, numExamples: 1 + rng.int(100), participantId: `p${p}` });
  }
  // As fit workers sent them before the arena (and still do when it is full): each update's variables in one SharedArrayBuffer.
  const shared = updates.map((u) => ({ ...u, weights: toSharedWeights(u.weights) }));
  // As fit workers write them now: each update in a block of the update arena, adopted by this thread.
  const arena = updateArena();
  const layout = arenaLayout(layerSizes);
  const inArena = arena === undefined ? shared : updates.map((u) => {
    const block = arena.allocate(layout.bytes);
    const written = block === undefined ? undefined : writeToArena(arena.memory, block, layout, u.weights);
    if (written === undefined) throw new Error("aggregationThroughput: no room in the update arena");
    return { ...u, weights: arena.adopt(block!, layout, written) };
  });
  // The hand-over's copy, on a bench-only arena (blocks allocated, written and released in turn).
  const handArena = arena === undefined ? undefined : new UpdateArena(layout.bytes * 2 + (1 << 20));
  const handOverArena = (): void => {
    for (const u of updates) {
      const block = handArena!.allocate(layout.bytes)!;
      writeToArena(handArena!.memory, block, layout, u.weights);
      handArena!.release(block);
    }
  };
  const parameters = layerSizes.reduce((a, b) => a + b, 0);
  const inputBytes = participants * parameters * 4;
  const target = layerSizes.map((size) => new Float32Array(size));
  const block = new Float64Array(4096);
  const sumLoop = (): void => {
    for (const u of updates) {
      for (const w of u.weights) {
        const x = w.values;
        for (let start = 0; start < x.length; start += 4096) {
          const m = Math.min(4096, x.length - start);
          for (let k = 0; k < m; k++) block[k] += x[start + k];
        }
      }
    }
  };
  const aggregateThreads = (await prepareWeightedSumThread()) ? 2 : 1;
  const memcpy2 = await twoThreadMemcpy(updates);
  const previous = configureWeightedSumThreads({});
  try {
    const oneThread = (body: () => void) => (): void => {
      configureWeightedSumThreads({ threads: 1 });
      body();
      configureWeightedSumThreads({ threads: previous.threads });
    };
    const {
      best: [aggregate, aggregateArenaOne, aggregateShared, aggregateOne, aggregateSharedOne, memcpy, memcpyTwo, loop, resident, handShared, handArenaS],
      calls,
    } = interleaved(seconds, [
      () => weightedAverage(inArena),
      oneThread(() => weightedAverage(inArena)),
      () => weightedAverage(shared),
      () => weightedAverage(updates),
      oneThread(() => weightedAverage(shared)),
      () => {
        for (const u of updates) u.weights.forEach((w, i) => target[i].set(w.values));
      },
      memcpy2.body,
      sumLoop,
      residentSum(updates, layerSizes),
      () => {
        for (const u of updates) toSharedWeights(u.weights);
      },
      handArena === undefined ? () => undefined : handOverArena,
    ]);
    return {
      participants,
      parameters,
      aggregateBytesPerS: inputBytes / aggregate,
      aggregateInArena: arena !== undefined,
      aggregateArenaOneThreadBytesPerS: inputBytes / aggregateArenaOne,
      aggregateSharedBytesPerS: inputBytes / aggregateShared,
      handOver: { arenaS: handArenaS / participants, sharedArrayBufferS: handShared / participants, adoptS: adoptSeconds(layerSizes.length) },
      aggregateThreads,
      aggregateOneThreadBytesPerS: inputBytes / aggregateOne,
      aggregateSharedOneThreadBytesPerS: inputBytes / aggregateSharedOne,
      memcpyBytesPerS: inputBytes / memcpy,
      memcpyTwoThreadsBytesPerS: inputBytes / memcpyTwo,
      float64LoopBytesPerS: inputBytes / loop,
      residentSumBytesPerS: inputBytes / resident,
      calls,
      thresholdScan: aggregateThreads === 2 ? thresholdScan(seconds / 4) : [],
    };
  } finally {
    configureWeightedSumThreads(previous);
    await memcpy2.close();
  }
}
