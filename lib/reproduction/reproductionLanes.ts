/**
 * How a reproduction spends `workers` threads (`runPflBenchmark` / `runFedAvgPaper` `workers`,
 * `npm run reproduce -- … --workers N`): its (method, seed) runs go on parallel lanes, one
 * reproduction worker thread each, and what is left over trains one run's participants on the fit
 * pool. Either way every run is computed exactly as on one thread (the worker runs the same function
 * on that one method and seed; the fit pool is bitwise the serial executor), and checkpoints go to
 * the same per-run folders, so a set stopped with one worker count resumes with any other.
 */
import * as path from "node:path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { initBackend } from "../backend";
import type { FitExecutor } from "../federation/executor";
import { createWorkerPool } from "../parallel/workerPoolFitExecutor";
import { WorkerThread } from "../parallel/workerThread";
import type { ReproductionJob, ReproductionMessage, ReproductionReply } from "./reproductionProtocol";

/** How `workers` threads serve `runs` runs: `lanes` runs at once (each on its own thread when > 1), each run's participants on a fit pool of `poolSize` (1 = serial). */
export interface WorkerPlan {
  readonly lanes: number;
  readonly poolSize: number;
}

/** `workers` threads for `runs` runs: as many lanes as runs allow, the rest as each run's fit pool (lanes · poolSize ≤ workers). */
export function workerPlan(workers: number, runs: number): WorkerPlan {
  if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`workers must be an integer ≥ 1, got ${workers}`);
  const lanes = Math.max(1, Math.min(workers, runs));
  return { lanes, poolSize: Math.floor(workers / lanes) };
}

/** `lanes` reproduction worker threads: `run(job, lane)` gives the job's per-round series; rounds trained there reach `onRound`. */
export interface ReproductionLanes {
  /** Number of lanes (threads). */
  readonly count: number;
  run(job: ReproductionJob, lane: number): Promise<ColumnTable>;
  terminate(): Promise<void>;
}

/** Start `lanes` reproduction worker threads on this thread's backend. */
export async function reproductionLanes(lanes: number, onRound: ((round: Readonly<Record<string, string | number>>) => void) | undefined): Promise<ReproductionLanes> {
  const file = path.join(__dirname, "reproductionWorker.js");
  const backend = (await initBackend({ log: false })).name;
  const onEvent = (e: Extract<ReproductionReply, { type: "event" }>): void => onRound?.(e.round);
  const threads = Array.from({ length: lanes }, (_, i) => new WorkerThread<ReproductionMessage, ReproductionReply>(file, { backend }, `reproduction worker ${i}`, onEvent));
  return {
    count: lanes,
    async run(job, lane) {
      const what = `${job.kind} ${job.method.label} seed ${job.seed}`;
      let reply: Extract<ReproductionReply, { type: "reply" }>;
      try {
        reply = await threads[lane].call({ type: "run", ...job });
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message} before it finished`);
      }
      if (reply.ok === false) throw new Error(`${what}: ${reply.error.message}`);
      return aq.from(reply.series);
    },
    async terminate() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}

/** Where a reproduction's runs go under `workerPlan(workers, runs)`: `lanes` (worker threads) when there are several, else this thread with `pool` as the fit executor when there is one; `poolSize` is what a run on a lane gets as its own `workers`. */
export interface ReproductionWorkers {
  readonly lanes: ReproductionLanes | undefined;
  readonly pool: FitExecutor | undefined;
  readonly poolSize: number;
}

/** Start what `workers` threads for `runs` runs need (`workerPlan`), run `body` with it, and stop every thread afterwards. */
export async function withReproductionWorkers<R>(
  workers: number,
  runs: number,
  onRound: ((round: Readonly<Record<string, string | number>>) => void) | undefined,
  body: (w: ReproductionWorkers) => Promise<R>,
): Promise<R> {
  const plan = workerPlan(workers, runs);
  const lanes = plan.lanes > 1 ? await reproductionLanes(plan.lanes, onRound) : undefined;
  const pool = plan.lanes === 1 && plan.poolSize > 1 ? createWorkerPool({ size: plan.poolSize }) : undefined;
  try {
    return await body({ lanes, pool, poolSize: plan.poolSize });
  } finally {
    await lanes?.terminate();
    await pool?.dispose();
  }
}
