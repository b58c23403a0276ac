/**
 * FedAvg's exact weighted sum of a whole model (every variable) on two threads: this one and one helper thread. The
 * coordinates are cut into chunks of about one kernel block; both threads claim chunks one at a time from a shared
 * counter, so the split follows each thread's speed. Each coordinate is still one float64 sum over the participants in
 * order, computed by the same kernel (lib/kernels/weightedSum.ts), so the result is bitwise the one-thread result.
 *
 * Why two threads: on one core the sum costs 2–3× a memcpy of its inputs (float32 → float64 widening, multiply and
 * add on 128-bit wasm SIMD, against a memcpy on 512-bit registers), so one thread tops out near 40 % of memcpy.
 * Aggregation runs after training, when the worker pool's cores are idle.
 *
 * The helper can read only memory it shares with this thread, so the 2-thread path is taken when every input is a
 * view of shared memory and the inputs are large enough to pay the hand-off. The worker pool's updates live in the
 * update arena (lib/kernels/updateArena.ts, written there by lib/parallel/fitWorkerMain.ts): both threads then run the
 * kernel on them in place (lib/kernels/weightedSumResident.ts) and only results are copied; updates in
 * SharedArrayBuffers of their own (the arena full) are copied into each thread's wasm memory block by block. Everything else, and any environment without SharedArrayBuffer or
 * worker threads, runs on this thread as before. The call stays synchronous: the job goes over a MessagePort read with
 * `receiveMessageOnPort`, and both sides wait with `Atomics.wait` on a shared control word, so neither needs an event
 * loop turn. If the helper has not taken the job when every chunk is claimed (it got no core), this thread withdraws
 * it and does not wait. The helper is started by the first large shared call (that call and any made while it starts
 * run on one thread) or by `prepareWeightedSumThread`; it is unref'd (it never keeps a process alive) and idles in
 * `Atomics.wait`. `releaseWeightedSumThread` ends it.
 */
import * as path from "node:path";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { BLOCK_BYTES, checkWeightedSum, weightedSumInto } from "./weightedSum";
import { updateArena } from "./updateArena";
import type { UpdateArena } from "./updateArena";
import { residentSum, sumResidentChunk } from "./weightedSumResident";
import type { WasmMemory } from "./webAssembly";

/** One variable of a weighted sum: where its result goes and every participant's values of it. */
export interface WeightedSumTask {
  readonly out: Float32Array;
  readonly inputs: readonly Float32Array[];
}

/**
 * One call's work for the helper, as posted to it. Chunk i is coordinates [lo, hi) of task `task` (numbers
 * `chunks[3i…3i+2]`), claimed one at a time by both threads through the shared counter `control[Control.next]`. The
 * helper writes chunk i to `out[at[i]…]` (a SharedArrayBuffer view) and then sets `finished[i]` to 1 (or 2 if an
 * output is not finite).
 */
export interface WeightedSumJob {
  /** Matches `control[Control.job]`: a job the main thread withdrew before the helper took it is skipped. */
  readonly id: number;
  /** Per task, every participant's values (views of SharedArrayBuffers). */
  readonly inputs: ReadonlyArray<readonly Float32Array[]>;
  /** (task, lo, hi) per chunk. */
  readonly chunks: Int32Array;
  /** Where each chunk's result starts in `out`. */
  readonly at: Int32Array;
  readonly out: Float32Array;
  readonly finished: Int32Array;
  readonly factors: readonly number[];
  readonly total: number;
  /** Set when every input lives in the update arena: the helper sums in place there instead (`inputs` is then empty). */
  readonly resident: ResidentJob | undefined;
}

/**
 * A job on inputs resident in the update arena. Chunk i runs weighted_sum_rows(args[4i], p, args[4i+1], factorsAt,
 * total, args[4i+2], args[4i+3]): its participants' row table, first coordinate, output address and length.
 */
export interface ResidentJob {
  /** The arena's memory, sent with the first job on it (the helper keeps it); undefined after that. */
  readonly memory: WasmMemory | undefined;
  readonly participants: number;
  readonly factorsAt: number;
  readonly args: Int32Array;
}

/** Values of the control word `control[Control.state]`. */
export const HelperState = { starting: 0, idle: 1, posted: 2, running: 3, done: 4, failed: 5, closing: 6 } as const;

/** Slots of the shared control array. */
export const Control = { state: 0, next: 1, job: 2, length: 4 } as const;

/** `workerData` of the helper thread. */
export interface HelperData {
  readonly control: Int32Array;
  readonly port: MessagePort;
}

/** How weighted sums are split; see `configureWeightedSumThreads`. */
export interface WeightedSumThreadOptions {
  /** 2: use the helper thread for large shared inputs (default); 1: always one thread. */
  readonly threads: 1 | 2;
  /** Input bytes (participants × coordinates × 4) from which the helper is used. */
  readonly minInputBytes: number;
  /** Input bytes per chunk (all participants' values of its coordinates); default one kernel block, 512 KiB. */
  readonly chunkBytes: number;
  /** The same for inputs resident in the update arena (no block to keep in cache; fewer hand-offs); default 2 MiB. */
  readonly residentChunkBytes: number;
  /** For tests: this thread leaves every chunk to the helper (it waits for it instead of claiming chunks). */
  readonly helperOnly: boolean;
  /** Sum inputs that live in the update arena in place (default); false: copy them in like any other (benchmarks). */
  readonly resident: boolean;
}

/**
 * Default threshold, 4 MiB of input. Measured (2026-12-01, 10 participants, fastest of 300 alternating calls, the
 * machine's other core busy with other work): 2 threads were 1.65× faster at 16 MiB, but 5–20 % slower from 0.5 to
 * 8 MiB, where the helper rarely got the other core before this thread had claimed every chunk (the hand-off itself —
 * post, wake, withdraw — costs ≈ 10–60 µs). On an idle machine the helper pays from smaller sizes; bench item 5 prints
 * the scan (1-thread / 2-thread time at 1–16 MiB) to re-check.
 */
const DEFAULT_MIN_INPUT_BYTES = 4 << 20;
/**
 * Chunk size on resident inputs: 2 MiB of input. Measured (2026-12-01, 10 × 320 k floats in the arena, fastest of 60
 * alternating calls, machine at load 3): 2 threads reached 72.5 / 84.6 / 56.8 % of memcpy with 0.5 / 2 / 8 MiB chunks,
 * 1 thread 48.1 / 53.0 / 54.5 %.
 */
const DEFAULT_RESIDENT_CHUNK_BYTES = 2 << 20;
/** A helper that has not answered after this long is taken as dead; its chunks are summed here. */
const HELPER_TIMEOUT_MS = 60_000;

let options: WeightedSumThreadOptions = { threads: 2, minInputBytes: DEFAULT_MIN_INPUT_BYTES, chunkBytes: BLOCK_BYTES, residentChunkBytes: DEFAULT_RESIDENT_CHUNK_BYTES, helperOnly: false, resident: true };

interface Helper {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  /** Output of the helper's chunks, grown as needed. */
  scratch: Float32Array;
  /** Per chunk: 0, or what the helper reported for it (1 finite, 2 not finite); grown as needed. */
  finished: Int32Array;
  jobs: number;
  /** The arena memory this helper was sent (it instantiates the resident kernel on it once). */
  arena: WasmMemory | undefined;
  /** Why it cannot be used any more (undefined while it can). */
  broken: string | undefined;
}

let helper: Helper | undefined;
const RELEASED = "released";
/** Why no helper can be started here (no SharedArrayBuffer, no worker threads), once known. */
let unavailable: string | undefined;
let helperCalls = 0;
let helperChunks = 0;
let residentCalls = 0;

/** Set how weighted sums use threads (for tests and benchmarks; the defaults suit a round). Returns the previous options. */
export function configureWeightedSumThreads(next: Partial<WeightedSumThreadOptions>): WeightedSumThreadOptions {
  const previous = options;
  if (next.threads !== undefined && next.threads !== 1 && next.threads !== 2) {
    throw new Error(`configureWeightedSumThreads: threads must be 1 or 2, got ${String(next.threads)}`);
  }
  if (next.minInputBytes !== undefined && !(next.minInputBytes >= 0)) {
    throw new Error(`configureWeightedSumThreads: minInputBytes must be ≥ 0, got ${next.minInputBytes}`);
  }
  for (const key of ["chunkBytes", "residentChunkBytes"] as const) {
    const v = next[key];
    if (v !== undefined && !(v > 0)) throw new Error(`configureWeightedSumThreads: ${key} must be > 0, got ${v}`);
  }
  options = { ...options, ...next };
  return previous;
}

/** The helper thread's state: whether one runs, whether it is ready, why it is not used, calls shared with it, chunks it summed, calls summed in place in the update arena. */
export function weightedSumThreadStatus(): { running: boolean; ready: boolean; unavailable: string | undefined; helperCalls: number; helperChunks: number; residentCalls: number } {
  const h = helper;
  const ready = h !== undefined && h.broken === undefined && Atomics.load(h.control, Control.state) === HelperState.idle;
  return { running: h !== undefined, ready, unavailable: unavailable ?? h?.broken, helperCalls, helperChunks, residentCalls };
}

function startHelper(): void {
  try {
    const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
    const { port1, port2 } = new MessageChannel();
    const data: HelperData = { control, port: port2 };
    const worker = new Worker(path.join(__dirname, "weightedSumWorker.js"), { workerData: data, transferList: [port2] });
    worker.unref();
    port1.unref();
    const h: Helper = { worker, port: port1, control, scratch: new Float32Array(new SharedArrayBuffer(4)), finished: new Int32Array(new SharedArrayBuffer(4)), jobs: 0, arena: undefined, broken: undefined };
    worker.on("error", (e: Error) => (h.broken ??= `weighted-sum helper failed: ${e.message}`));
    worker.on("exit", (code: number) => {
      h.broken ??= `weighted-sum helper exited (code ${code})`;
      // One that never got ready (its file cannot load here, say) is not started again on every call.
      if (h.broken !== RELEASED && Atomics.load(control, Control.state) === HelperState.starting) unavailable ??= h.broken;
      if (helper === h) helper = undefined;
    });
    helper = h;
  } catch (e) {
    unavailable = `weighted-sum helper could not start: ${(e as Error).message}`;
  }
}

/** The helper if this call should use it (starting it if none runs: that call itself stays on one thread). */
function usableHelper(tasks: readonly WeightedSumTask[], participants: number, coordinates: number): Helper | undefined {
  if (options.threads !== 2 || unavailable !== undefined) return undefined;
  if (participants * coordinates * 4 < options.minInputBytes || coordinates < 2) return undefined;
  if (typeof SharedArrayBuffer === "undefined") return undefined;
  for (const t of tasks) for (const x of t.inputs) if (!(x.buffer instanceof SharedArrayBuffer)) return undefined;
  if (helper === undefined) {
    startHelper();
    return undefined;
  }
  if (helper.broken !== undefined || Atomics.load(helper.control, Control.state) !== HelperState.idle) return undefined;
  return helper;
}

/**
 * Start the helper thread now (if none runs) and resolve when it is ready: true, or false where none can run (no
 * SharedArrayBuffer, no worker threads, `threads: 1`) or it did not get ready within `timeoutMs`. Optional: the first
 * large shared call starts it anyway; this lets a caller (a benchmark, a test) have it ready beforehand.
 */
export async function prepareWeightedSumThread(timeoutMs = 30_000): Promise<boolean> {
  if (options.threads !== 2 || unavailable !== undefined || typeof SharedArrayBuffer === "undefined") return false;
  if (helper === undefined) startHelper();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = helper;
    if (h === undefined || h.broken !== undefined) return false;
    if (Atomics.load(h.control, Control.state) === HelperState.idle) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Stop the helper thread (if one runs) and wait until it has exited. A later large shared call starts a new one. */
export async function releaseWeightedSumThread(): Promise<void> {
  const h = helper;
  if (h === undefined) return;
  helper = undefined;
  h.broken ??= RELEASED;
  const exited = new Promise<void>((resolve) => h.worker.once("exit", () => resolve()));
  Atomics.store(h.control, Control.state, HelperState.closing);
  Atomics.notify(h.control, Control.state);
  // A helper still starting (or stuck) does not look at the control word: end it.
  const timer = setTimeout(() => void h.worker.terminate(), 2000);
  await exited;
  clearTimeout(timer);
  h.port.close();
}

/** One chunk: coordinates [lo, hi) of task `task`; lo is a multiple of 4 (see `chunksOf`). */
interface Chunk {
  readonly task: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The tasks cut into chunks of about one kernel block (p rows ≈ 512 KiB of input; a multiple of 4 coordinates, ≥ 64),
 * never across a variable. Each chunk starts on a multiple of 4 within its variable: the kernel sums the last (length
 * mod 4) coordinates of a call in scalar code and the rest in SIMD, so every coordinate takes the same path as in one
 * call over the whole variable, and even NaN payloads (which differ between the two) stay those of one thread.
 */
function chunksOf(tasks: readonly WeightedSumTask[], participants: number, chunkBytes: number): Chunk[] {
  const width = Math.max(64, Math.floor(chunkBytes / 4 / participants / 4) * 4);
  const chunks: Chunk[] = [];
  tasks.forEach((t, task) => {
    for (let lo = 0; lo < t.out.length; lo += width) chunks.push({ task, lo, hi: Math.min(t.out.length, lo + width) });
  });
  return chunks;
}

/** Sum one chunk on this thread into its task's output. */
function sumChunk(tasks: readonly WeightedSumTask[], c: Chunk, factors: readonly number[], total: number): boolean {
  const t = tasks[c.task];
  return weightedSumInto(t.out.subarray(c.lo, c.hi), t.inputs.map((x) => x.subarray(c.lo, c.hi)), factors, total);
}

/** The job for the helper: every chunk, each with its place in the scratch output (a multiple of 4 floats). */
function helperJob(h: Helper, tasks: readonly WeightedSumTask[], chunks: readonly Chunk[], factors: readonly number[], total: number, resident?: ResidentPlan): WeightedSumJob {
  const at = new Int32Array(chunks.length);
  const list = new Int32Array(3 * chunks.length);
  let floats = 0;
  chunks.forEach((c, i) => {
    list[3 * i] = c.task;
    list[3 * i + 1] = c.lo;
    list[3 * i + 2] = c.hi;
    at[i] = floats;
    floats += Math.ceil((c.hi - c.lo) / 4) * 4;
  });
  if (resident === undefined && h.scratch.length < floats) h.scratch = new Float32Array(new SharedArrayBuffer(floats * 4));
  if (h.finished.length < chunks.length) h.finished = new Int32Array(new SharedArrayBuffer(chunks.length * 4));
  h.finished.fill(0, 0, chunks.length);
  h.jobs++;
  let residentJob: ResidentJob | undefined;
  if (resident !== undefined) {
    const memory = resident.arena.memory;
    residentJob = { memory: h.arena === memory ? undefined : memory, participants: factors.length, factorsAt: resident.factorsAt, args: resident.args };
    h.arena = memory;
  }
  const inputs = resident === undefined ? tasks.map((t) => t.inputs) : [];
  return { id: h.jobs, inputs, chunks: list, at, out: h.scratch, finished: h.finished, factors, total, resident: residentJob };
}

/**
 * A call on inputs resident in the update arena: the factors, each task's table of row addresses and an output slot per
 * chunk, written into a scratch block of the arena, and chunk i's kernel arguments in `args` (see `ResidentJob`).
 */
interface ResidentPlan {
  readonly arena: UpdateArena;
  readonly factorsAt: number;
  readonly args: Int32Array;
}

/** This module's scratch block in the arena (kept between calls, replaced by a larger one when needed). */
let scratch: { arena: UpdateArena; block: number; bytes: number } | undefined;

/**
 * The plan for a call whose inputs all live in the update arena, with its scratch written; undefined if some input
 * does not (or no scratch block can be had): then the call takes the copy-in path.
 */
function residentPlan(tasks: readonly WeightedSumTask[], chunks: readonly Chunk[], factors: readonly number[]): ResidentPlan | undefined {
  if (tasks.length === 0 || factors.length === 0) return undefined;
  // Ordinary arrays (the serial executor's) never are in the arena: do not make one for them.
  if (typeof SharedArrayBuffer === "undefined" || !(tasks[0].inputs[0].buffer instanceof SharedArrayBuffer)) return undefined;
  const arena = updateArena();
  if (arena === undefined) return undefined;
  const p = factors.length;
  const rows = new Int32Array(tasks.length * p);
  for (let t = 0; t < tasks.length; t++) {
    for (let i = 0; i < p; i++) {
      const at = arena.address(tasks[t].inputs[i]);
      if (at === undefined) return undefined;
      rows[t * p + i] = at;
    }
  }
  const tablesAt = Math.ceil((p * 8) / 16) * 16;
  let bytes = Math.ceil((tablesAt + rows.length * 4) / 16) * 16;
  const outAt: number[] = [];
  for (const c of chunks) {
    // The slot sits at its destination's address modulo 16: V8 copies out of shared memory 4× slower otherwise.
    outAt.push(bytes + (tasks[c.task].out.byteOffset & 15));
    bytes += Math.ceil((c.hi - c.lo) / 4) * 16 + 16;
  }
  if (scratch === undefined || scratch.arena !== arena || scratch.bytes < bytes) {
    if (scratch !== undefined && scratch.arena === arena) arena.release(scratch.block);
    scratch = undefined;
    const block = arena.allocate(bytes);
    if (block === undefined) return undefined;
    scratch = { arena, block, bytes };
  }
  const base = scratch.block;
  const buffer = arena.buffer();
  new Float64Array(buffer, base, p).set(factors);
  new Int32Array(buffer, base + tablesAt, rows.length).set(rows);
  const args = new Int32Array(4 * chunks.length);
  chunks.forEach((c, i) => {
    args[4 * i] = base + tablesAt + c.task * p * 4;
    args[4 * i + 1] = c.lo;
    args[4 * i + 2] = base + outAt[i];
    args[4 * i + 3] = c.hi - c.lo;
  });
  return { arena, factorsAt: base, args };
}

/**
 * After this thread has run out of chunks: withdraw the job if the helper has not taken it yet, else wait until it is
 * done. True if the helper may have summed chunks (then `finished` says which); false if it took none or failed (it is
 * then retired; its chunks are summed here).
 */
function finishWithHelper(h: Helper, withdraw: boolean): boolean {
  if (withdraw && Atomics.compareExchange(h.control, Control.state, HelperState.posted, HelperState.idle) === HelperState.posted) return false;
  const deadline = Date.now() + HELPER_TIMEOUT_MS;
  let state = Atomics.load(h.control, Control.state);
  while (state === HelperState.running || state === HelperState.posted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    Atomics.wait(h.control, Control.state, state, left);
    state = Atomics.load(h.control, Control.state);
  }
  if (state === HelperState.done) {
    Atomics.store(h.control, Control.state, HelperState.idle);
    return true;
  }
  if (state === HelperState.failed) {
    const reply = receiveMessageOnPort(h.port) as { message: { message: string } } | undefined;
    h.broken = `weighted-sum helper failed: ${reply?.message.message ?? "no reason given"}`;
  } else {
    h.broken = `weighted-sum helper did not answer within ${HELPER_TIMEOUT_MS / 1000} s`;
  }
  if (helper === h) helper = undefined;
  void h.worker.terminate();
  return false;
}

/**
 * Every task's out[k] = fround(Σᵢ factors[i]·inputs[i][k] / total), in float64 in participant order (bitwise
 * `weightedSumInto` on each task). When every input lives in the update arena (the worker pool's updates,
 * lib/kernels/updateArena.ts), the kernel reads them in place, chunk by chunk, and only each chunk's result is copied
 * out. For large inputs that all live in shared memory (the arena or SharedArrayBuffers), this thread and the helper
 * thread claim chunks of coordinates one at a time from a shared counter, so the work splits itself by speed: if the
 * helper gets no core (a busy machine), this thread sums everything and does not wait for it.
 * Returns false if any output is NaN or ±Inf.
 */
export function weightedSumAll(tasks: readonly WeightedSumTask[], factors: readonly number[], total: number): boolean {
  let coordinates = 0;
  for (const t of tasks) {
    checkWeightedSum("weightedSumAll", t.out, t.inputs, factors);
    coordinates += t.out.length;
  }
  let finite = true;
  const h = usableHelper(tasks, factors.length, coordinates);
  const p = Math.max(1, factors.length);
  const residentChunks = options.resident ? chunksOf(tasks, p, options.residentChunkBytes) : [];
  const resident = options.resident ? residentPlan(tasks, residentChunks, factors) : undefined;
  if (resident !== undefined) return sumResident(h, tasks, residentChunks, resident, factors, total);
  const chunks = h === undefined ? [] : chunksOf(tasks, p, options.chunkBytes);
  if (h === undefined || chunks.length < 2) {
    for (const t of tasks) if (!weightedSumInto(t.out, t.inputs, factors, total)) finite = false;
    return finite;
  }
  const job = helperJob(h, tasks, chunks, factors, total);
  return split(h, job, chunks.length, (i) => sumChunk(tasks, chunks[i], factors, total), (i) => {
    const c = chunks[i];
    tasks[c.task].out.set(h.scratch.subarray(job.at[i], job.at[i] + (c.hi - c.lo)), c.lo);
  });
}

/** The resident path: chunk i summed in place in the arena by either thread, then copied out of its scratch slot. */
function sumResident(h: Helper | undefined, tasks: readonly WeightedSumTask[], chunks: readonly Chunk[], plan: ResidentPlan, factors: readonly number[], total: number): boolean {
  const fn = residentSum(plan.arena.memory);
  residentCalls++;
  const buffer = plan.arena.buffer();
  const { args, factorsAt } = plan;
  const p = factors.length;
  const copyOut = (i: number): void => {
    const c = chunks[i];
    tasks[c.task].out.set(new Float32Array(buffer, args[4 * i + 2], c.hi - c.lo), c.lo);
  };
  const sumHere = (i: number): boolean => {
    const finite = sumResidentChunk(fn, args, i, p, factorsAt, total);
    copyOut(i);
    return finite;
  };
  if (h === undefined || chunks.length < 2) {
    let finite = true;
    for (let i = 0; i < chunks.length; i++) if (!sumHere(i)) finite = false;
    return finite;
  }
  return split(h, helperJob(h, tasks, chunks, factors, total, plan), chunks.length, sumHere, copyOut);
}

/**
 * Run `job`'s n chunks on this thread and the helper: post it, claim chunks (`sumHere(i)`: false if an output is not
 * finite) and take in the helper's finished ones (`takeHelpers(i)`) as they come; chunks the helper did not do (it
 * failed, or never took the job) are summed here. Returns false if any output is NaN or ±Inf.
 */
function split(h: Helper, job: WeightedSumJob, n: number, sumHere: (i: number) => boolean, takeHelpers: (i: number) => void): boolean {
  let finite = true;
  h.port.postMessage(job);
  Atomics.store(h.control, Control.next, 0);
  Atomics.store(h.control, Control.job, job.id);
  Atomics.store(h.control, Control.state, HelperState.posted);
  Atomics.notify(h.control, Control.state);
  helperCalls++;
  // Per chunk: 0 not yet here, 1 summed here, 2 the helper's result taken in.
  const here = new Uint8Array(n);
  const take = (i: number, done: number): void => {
    takeHelpers(i);
    here[i] = 2;
    helperChunks++;
    if (done === 2) finite = false;
  };
  if (!options.helperOnly) {
    // Chunks before `pending` are here; the helper sums its chunks one at a time in claim order.
    let pending = 0;
    for (let i = Atomics.add(h.control, Control.next, 1); i < n; i = Atomics.add(h.control, Control.next, 1)) {
      here[i] = 1;
      if (!sumHere(i)) finite = false;
      // Take in what the helper has finished so far, while it still works (its flag is set after its result).
      for (; pending < i; pending++) {
        if (here[pending] !== 0) continue;
        const done = Atomics.load(h.finished, pending);
        if (done === 0) break;
        take(pending, done);
      }
    }
  }
  // Every chunk is claimed now; the helper's are done once it says so (or are summed here if it failed).
  const helped = finishWithHelper(h, !options.helperOnly);
  for (let i = 0; i < n; i++) {
    if (here[i] !== 0) continue;
    const done = helped ? Atomics.load(h.finished, i) : 0;
    if (done !== 0) take(i, done);
    else if (!sumHere(i)) finite = false;
  }
  return finite;
}
