/**
 * FedAvg's exact weighted sum of a whole model (every variable) on two threads: this one and one helper thread, each
 * taking half of the coordinates. Each coordinate is still one float64 sum over the participants in order, computed by
 * the same kernel (lib/kernels/weightedSum.ts), so the result is bitwise the one-thread result whatever the split.
 *
 * Why two threads: on one core the sum costs 2–3× a memcpy of its inputs (float32 → float64 widening, multiply and
 * add on 128-bit wasm SIMD, against a memcpy on 512-bit registers), so one thread tops out near 40 % of memcpy.
 * Aggregation runs after training, when the worker pool's cores are idle.
 *
 * The helper can read only memory it shares with this thread, so the 2-thread path is taken when every input is a
 * view of a SharedArrayBuffer (updates from the worker pool arrive that way, lib/parallel/fitWorkerMain.ts) and the
 * inputs are large enough to pay the hand-off (tens of µs). Everything else, and any environment without
 * SharedArrayBuffer or worker threads, runs on this thread as before. The call stays synchronous: the job goes over a
 * MessagePort read with `receiveMessageOnPort`, and both sides wait with `Atomics.wait` on a shared control word, so
 * neither needs an event loop turn. The helper is started on the first large shared call (that call and any made
 * while it starts run on one thread), is unref'd (it never keeps a process alive) and idles in `Atomics.wait`.
 */
import * as path from "node:path";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { checkWeightedSum, weightedSumInto } from "./weightedSum";

/** One variable of a weighted sum: where its result goes and every participant's values of it. */
export interface WeightedSumTask {
  readonly out: Float32Array;
  readonly inputs: readonly Float32Array[];
}

/** The helper's half of a call, as posted to it. Part i goes to `out[at[i]…]` (a SharedArrayBuffer view). */
export interface WeightedSumJob {
  readonly parts: ReadonlyArray<{ readonly inputs: readonly Float32Array[]; readonly at: number }>;
  readonly out: Float32Array;
  readonly factors: readonly number[];
  readonly total: number;
}

/** Values of the control word (index 0 of the shared Int32Array; index 1 holds the helper's finite flag). */
export const HelperState = { starting: 0, idle: 1, posted: 2, done: 3, failed: 4, closing: 5 } as const;

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
}

/**
 * Default threshold: 10 × 421,642 floats (16.9 MB) take ≈ 0.5 ms on two threads; below ~1 MiB of input the hand-off
 * (post, wake, wait: ≈ 30–60 µs on this project's machine) eats most of the gain. Measured with
 * `npm run bench -- --only=5` (its threshold row).
 */
const DEFAULT_MIN_INPUT_BYTES = 1 << 20;
/**
 * Share of the coordinates summed on this thread. Per coordinate this thread pays s (the sum) on its share and
 * c ≈ 0.28 s (copying the helper's result out into fresh pages) on the helper's, measured with both on one core
 * (10 × 421,642 floats: 0.75–0.85 ms for half the sum, 0.24–0.26 ms for the copy out); x·s + (1 − x)·c = (1 − x)·s
 * gives x ≈ 0.42.
 */
const THIS_THREAD_SHARE = 0.42;
/** A helper that has not answered after this long is taken as dead; its half is computed here. */
const HELPER_TIMEOUT_MS = 60_000;

let options: WeightedSumThreadOptions = { threads: 2, minInputBytes: DEFAULT_MIN_INPUT_BYTES };

interface Helper {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  /** Output of the helper's half, grown as needed. */
  scratch: Float32Array;
  /** Why it cannot be used any more (undefined while it can). */
  broken: string | undefined;
}

let helper: Helper | undefined;
/** Why no helper can be started here (no SharedArrayBuffer, no worker threads), once known. */
let unavailable: string | undefined;
let helperCalls = 0;

/** Set how weighted sums use threads (for tests and benchmarks; the defaults suit a round). Returns the previous options. */
export function configureWeightedSumThreads(next: Partial<WeightedSumThreadOptions>): WeightedSumThreadOptions {
  const previous = options;
  if (next.threads !== undefined && next.threads !== 1 && next.threads !== 2) {
    throw new Error(`configureWeightedSumThreads: threads must be 1 or 2, got ${String(next.threads)}`);
  }
  if (next.minInputBytes !== undefined && !(next.minInputBytes >= 0)) {
    throw new Error(`configureWeightedSumThreads: minInputBytes must be ≥ 0, got ${next.minInputBytes}`);
  }
  options = { ...options, ...next };
  return previous;
}

/** The helper thread's state: whether one runs, whether it is ready, why it is not used, and how many calls it served. */
export function weightedSumThreadStatus(): { running: boolean; ready: boolean; unavailable: string | undefined; helperCalls: number } {
  const h = helper;
  const ready = h !== undefined && h.broken === undefined && Atomics.load(h.control, 0) === HelperState.idle;
  return { running: h !== undefined, ready, unavailable: unavailable ?? h?.broken, helperCalls };
}

function startHelper(): void {
  try {
    const control = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const data: HelperData = { control, port: port2 };
    const worker = new Worker(path.join(__dirname, "weightedSumWorker.js"), { workerData: data, transferList: [port2] });
    worker.unref();
    port1.unref();
    const h: Helper = { worker, port: port1, control, scratch: new Float32Array(new SharedArrayBuffer(4)), broken: undefined };
    worker.on("error", (e: Error) => (h.broken ??= `weighted-sum helper failed: ${e.message}`));
    worker.on("exit", (code: number) => {
      h.broken ??= `weighted-sum helper exited (code ${code})`;
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
  if (helper.broken !== undefined || Atomics.load(helper.control, 0) !== HelperState.idle) return undefined;
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
    if (Atomics.load(h.control, 0) === HelperState.idle) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Stop the helper thread (if one runs) and wait until it has exited. A later large shared call starts a new one. */
export async function releaseWeightedSumThread(): Promise<void> {
  const h = helper;
  if (h === undefined) return;
  helper = undefined;
  h.broken ??= "released";
  const exited = new Promise<void>((resolve) => h.worker.once("exit", () => resolve()));
  Atomics.store(h.control, 0, HelperState.closing);
  Atomics.notify(h.control, 0);
  // A helper still starting (or stuck) does not look at the control word: end it.
  const timer = setTimeout(() => void h.worker.terminate(), 2000);
  await exited;
  clearTimeout(timer);
  h.port.close();
}

/** Sum `[from, to)` of the concatenated coordinates of `tasks` on this thread, into the tasks' outputs. */
function sumRange(tasks: readonly WeightedSumTask[], from: number, to: number, factors: readonly number[], total: number): boolean {
  let finite = true;
  let start = 0;
  for (const t of tasks) {
    const n = t.out.length;
    const lo = Math.max(from, start) - start;
    const hi = Math.min(to, start + n) - start;
    start += n;
    if (hi <= lo) continue;
    const whole = lo === 0 && hi === n;
    const inputs = whole ? t.inputs : t.inputs.map((x) => x.subarray(lo, hi));
    if (!weightedSumInto(whole ? t.out : t.out.subarray(lo, hi), inputs, factors, total)) finite = false;
  }
  return finite;
}

/**
 * `at` moved down so that it falls on a multiple of 4 within its variable. The kernel sums the last (length mod 4)
 * coordinates of a call in scalar code and the rest in SIMD; with the split there, every coordinate takes the same
 * path as in one call over the whole variable, so even NaN payloads (which differ between the two) stay the same.
 */
function alignedSplit(tasks: readonly WeightedSumTask[], at: number): number {
  let start = 0;
  for (const t of tasks) {
    if (at < start + t.out.length) return start + (at - start) - ((at - start) % 4);
    start += t.out.length;
  }
  return at;
}

/** The helper's job for `[from, to)` of the concatenated coordinates, written to the start of its scratch output. */
function helperJob(h: Helper, tasks: readonly WeightedSumTask[], from: number, to: number, factors: readonly number[], total: number): WeightedSumJob {
  if (h.scratch.length < to - from) h.scratch = new Float32Array(new SharedArrayBuffer((to - from) * 4));
  const parts: Array<{ inputs: Float32Array[]; at: number }> = [];
  let start = 0;
  for (const t of tasks) {
    const n = t.out.length;
    const lo = Math.max(from, start) - start;
    const hi = Math.min(to, start + n) - start;
    if (hi > lo) parts.push({ inputs: t.inputs.map((x) => x.subarray(lo, hi)), at: start + lo - from });
    start += n;
  }
  return { parts, out: h.scratch.subarray(0, to - from), factors, total };
}

/** Copy the helper's results for `[from, to)` from its scratch output into the tasks' outputs. */
function copyFromScratch(scratch: Float32Array, tasks: readonly WeightedSumTask[], from: number, to: number): void {
  let start = 0;
  for (const t of tasks) {
    const n = t.out.length;
    const lo = Math.max(from, start) - start;
    const hi = Math.min(to, start + n) - start;
    if (hi > lo) t.out.set(scratch.subarray(start + lo - from, start + hi - from), lo);
    start += n;
  }
}

/** Wait for the helper's answer: its finite flag, or undefined if it failed or did not answer (it is then retired). */
function awaitHelper(h: Helper): boolean | undefined {
  const deadline = Date.now() + HELPER_TIMEOUT_MS;
  let state = Atomics.load(h.control, 0);
  while (state === HelperState.posted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    Atomics.wait(h.control, 0, HelperState.posted, left);
    state = Atomics.load(h.control, 0);
  }
  if (state === HelperState.done) {
    Atomics.store(h.control, 0, HelperState.idle);
    return h.control[1] === 1;
  }
  if (state === HelperState.failed) {
    const reply = receiveMessageOnPort(h.port) as { message: { message: string } } | undefined;
    h.broken = `weighted-sum helper failed: ${reply?.message.message ?? "no reason given"}`;
  } else {
    h.broken = `weighted-sum helper did not answer within ${HELPER_TIMEOUT_MS / 1000} s`;
  }
  if (helper === h) helper = undefined;
  void h.worker.terminate();
  return undefined;
}

/**
 * Every task's out[k] = fround(Σᵢ factors[i]·inputs[i][k] / total), in float64 in participant order (bitwise
 * `weightedSumInto` on each task). Uses the helper thread for large inputs that all live in SharedArrayBuffers.
 * Returns false if any output is NaN or ±Inf.
 */
export function weightedSumAll(tasks: readonly WeightedSumTask[], factors: readonly number[], total: number): boolean {
  let coordinates = 0;
  for (const t of tasks) {
    checkWeightedSum("weightedSumAll", t.out, t.inputs, factors);
    coordinates += t.out.length;
  }
  const h = usableHelper(tasks, factors.length, coordinates);
  if (h === undefined) return sumRange(tasks, 0, coordinates, factors, total);
  // The helper takes the larger share: this thread also posts the job and copies the helper's results into the
  // fresh output arrays afterwards (first writes to new pages: ≈ 0.28× the sum's time per coordinate, measured).
  const split = alignedSplit(tasks, Math.floor(coordinates * THIS_THREAD_SHARE));
  h.port.postMessage(helperJob(h, tasks, split, coordinates, factors, total));
  Atomics.store(h.control, 0, HelperState.posted);
  Atomics.notify(h.control, 0);
  helperCalls++;
  let finite = sumRange(tasks, 0, split, factors, total);
  const theirs = awaitHelper(h);
  if (theirs === undefined) return sumRange(tasks, split, coordinates, factors, total) && finite;
  copyFromScratch(h.scratch, tasks, split, coordinates);
  if (!theirs) finite = false;
  return finite;
}
