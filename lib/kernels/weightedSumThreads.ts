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
 * view of a SharedArrayBuffer (updates from the worker pool arrive that way, lib/parallel/fitWorkerMain.ts) and the
 * inputs are large enough to pay the hand-off. Everything else, and any environment without SharedArrayBuffer or
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
  /** For tests: this thread leaves every chunk to the helper (it waits for it instead of claiming chunks). */
  readonly helperOnly: boolean;
}

/**
 * Default threshold, 4 MiB of input. Measured (2026-12-01, 10 participants, fastest of 300 alternating calls, the
 * machine's other core busy with other work): 2 threads were 1.65× faster at 16 MiB, but 5–20 % slower from 0.5 to
 * 8 MiB, where the helper rarely got the other core before this thread had claimed every chunk (the hand-off itself —
 * post, wake, withdraw — costs ≈ 10–60 µs). On an idle machine the helper pays from smaller sizes; bench item 5 prints
 * the scan (1-thread / 2-thread time at 1–16 MiB) to re-check.
 */
const DEFAULT_MIN_INPUT_BYTES = 4 << 20;
/** A helper that has not answered after this long is taken as dead; its chunks are summed here. */
const HELPER_TIMEOUT_MS = 60_000;

let options: WeightedSumThreadOptions = { threads: 2, minInputBytes: DEFAULT_MIN_INPUT_BYTES, chunkBytes: BLOCK_BYTES, helperOnly: false };

interface Helper {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  /** Output of the helper's chunks, grown as needed. */
  scratch: Float32Array;
  /** Per chunk: 0, or what the helper reported for it (1 finite, 2 not finite); grown as needed. */
  finished: Int32Array;
  jobs: number;
  /** Why it cannot be used any more (undefined while it can). */
  broken: string | undefined;
}

let helper: Helper | undefined;
const RELEASED = "released";
/** Why no helper can be started here (no SharedArrayBuffer, no worker threads), once known. */
let unavailable: string | undefined;
let helperCalls = 0;
let helperChunks = 0;

/** Set how weighted sums use threads (for tests and benchmarks; the defaults suit a round). Returns the previous options. */
export function configureWeightedSumThreads(next: Partial<WeightedSumThreadOptions>): WeightedSumThreadOptions {
  const previous = options;
  if (next.threads !== undefined && next.threads !== 1 && next.threads !== 2) {
    throw new Error(`configureWeightedSumThreads: threads must be 1 or 2, got ${String(next.threads)}`);
  }
  if (next.minInputBytes !== undefined && !(next.minInputBytes >= 0)) {
    throw new Error(`configureWeightedSumThreads: minInputBytes must be ≥ 0, got ${next.minInputBytes}`);
  }
  if (next.chunkBytes !== undefined && !(next.chunkBytes > 0)) {
    throw new Error(`configureWeightedSumThreads: chunkBytes must be > 0, got ${next.chunkBytes}`);
  }
  options = { ...options, ...next };
  return previous;
}

/** The helper thread's state: whether one runs, whether it is ready, why it is not used, calls shared with it, chunks it summed. */
export function weightedSumThreadStatus(): { running: boolean; ready: boolean; unavailable: string | undefined; helperCalls: number; helperChunks: number } {
  const h = helper;
  const ready = h !== undefined && h.broken === undefined && Atomics.load(h.control, Control.state) === HelperState.idle;
  return { running: h !== undefined, ready, unavailable: unavailable ?? h?.broken, helperCalls, helperChunks };
}

function startHelper(): void {
  try {
    const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
    const { port1, port2 } = new MessageChannel();
    const data: HelperData = { control, port: port2 };
    const worker = new Worker(path.join(__dirname, "weightedSumWorker.js"), { workerData: data, transferList: [port2] });
    worker.unref();
    port1.unref();
    const h: Helper = { worker, port: port1, control, scratch: new Float32Array(new SharedArrayBuffer(4)), finished: new Int32Array(new SharedArrayBuffer(4)), jobs: 0, broken: undefined };
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
function chunksOf(tasks: readonly WeightedSumTask[], participants: number): Chunk[] {
  const width = Math.max(64, Math.floor(options.chunkBytes / 4 / participants / 4) * 4);
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
function helperJob(h: Helper, tasks: readonly WeightedSumTask[], chunks: readonly Chunk[], factors: readonly number[], total: number): WeightedSumJob {
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
  if (h.scratch.length < floats) h.scratch = new Float32Array(new SharedArrayBuffer(floats * 4));
  if (h.finished.length < chunks.length) h.finished = new Int32Array(new SharedArrayBuffer(chunks.length * 4));
  h.finished.fill(0, 0, chunks.length);
  h.jobs++;
  return { id: h.jobs, inputs: tasks.map((t) => t.inputs), chunks: list, at, out: h.scratch, finished: h.finished, factors, total };
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
 * `weightedSumInto` on each task). For large inputs that all live in SharedArrayBuffers, this thread and the helper
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
  const chunks = h === undefined ? [] : chunksOf(tasks, factors.length);
  if (h === undefined || chunks.length < 2) {
    for (const t of tasks) if (!weightedSumInto(t.out, t.inputs, factors, total)) finite = false;
    return finite;
  }
  const job = helperJob(h, tasks, chunks, factors, total);
  h.port.postMessage(job);
  Atomics.store(h.control, Control.next, 0);
  Atomics.store(h.control, Control.job, job.id);
  Atomics.store(h.control, Control.state, HelperState.posted);
  Atomics.notify(h.control, Control.state);
  helperCalls++;
  // Per chunk: 0 not yet here, 1 summed here, 2 the helper's result copied in.
  const here = new Uint8Array(chunks.length);
  const copyIn = (i: number, done: number): void => {
    const c = chunks[i];
    tasks[c.task].out.set(h.scratch.subarray(job.at[i], job.at[i] + (c.hi - c.lo)), c.lo);
    here[i] = 2;
    helperChunks++;
    if (done === 2) finite = false;
  };
  if (!options.helperOnly) {
    // Chunks before `pending` are here; the helper sums its chunks one at a time in claim order.
    let pending = 0;
    for (let i = Atomics.add(h.control, Control.next, 1); i < chunks.length; i = Atomics.add(h.control, Control.next, 1)) {
      here[i] = 1;
      if (!sumChunk(tasks, chunks[i], factors, total)) finite = false;
      // Copy in what the helper has finished so far, while it still works (its flag is set after its result).
      for (; pending < i; pending++) {
        if (here[pending] !== 0) continue;
        const done = Atomics.load(h.finished, pending);
        if (done === 0) break;
        copyIn(pending, done);
      }
    }
  }
  // Every chunk is claimed now; the helper's are done once it says so (or are summed here if it failed).
  const helped = finishWithHelper(h, !options.helperOnly);
  chunks.forEach((c, i) => {
    if (here[i] !== 0) return;
    const done = helped ? Atomics.load(h.finished, i) : 0;
    if (done !== 0) copyIn(i, done);
    else if (!sumChunk(tasks, c, factors, total)) finite = false;
  });
  return finite;
}
