/**
 * A `FitExecutor` that trains a round's participants on a pool of worker threads (node:worker_threads).
 *
 * Each worker starts the same tfjs backend as the main thread, builds ONE copy of the model from
 * the main trainer's topology and swaps each job's weights in, so 1,000 virtual participants cost
 * one model per worker, not one per participant. A participant's splits go to a worker once and
 * stay cached there (by participant id, re-sent if the participant's data object changes). Each job then carries only the global weights, the round's config, the
 * personalisation as data (`personalisation.toSpec()`) and the participant's state; the worker returns
 * the update and the new state, which the outcome carries back (the round loop commits it).
 * The global weights travel on shared memory (lib/model/sharedWeights.ts), copied there once per round (one call of the pool), not
 * cloned with every job on the main thread. Each update comes back in a block of the update arena (lib/kernels/updateArena.ts),
 * allocated here before the job is posted and adopted when it returns, so the round's weighted sum reads it in place.
 *
 * Determinism: a job's result depends only on the job (the worker runs `Participant.fit` on the
 * same inputs with the same backend), not on which worker ran it or when, so any pool size gives
 * results bitwise identical to `serialFitExecutor` (test/parallel/workerPool.test.ts).
 *
 * `evaluate` runs a round's evaluations the same way, in parallel, with `Participant.evaluate` in
 * the workers: bitwise the numbers of `evaluateSerially`.
 *
 * Workers are started on the first `run` and kept; they do not keep the process alive between
 * runs (unref'd while idle). Call `dispose()` to stop them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendInfo } from "../backend";
import type { BackendName } from "../backend";
import type { ParticipantData } from "../data/dataset";
import type { EvaluateJob, FitExecutor, FitJob, FitOutcome, JobListener } from "../federation/executor";
import type { Participant } from "../federation/participant";
import type { Personalisation } from "../federation/personalisation/personalisation";
import type { Evaluation, Trainer } from "../model/trainer";
import { weightedLayers } from "../model/modelWeights";
import type { ArenaBlock, FitResultPayload, FitWorkerData, WorkerReply, WorkerRequest } from "./fitProtocol";
import { arenaLayout, updateArena } from "../kernels/updateArena";
import type { UpdateArena } from "../kernels/updateArena";
import type { ModelWeights } from "../model/weights";
import { deserialiseError } from "./fitProtocol";
import { coreCount, runInLanes } from "./lanes";
import { WorkerThread } from "./workerThread";
import { SharedWeightsMemo } from "../model/sharedWeights";
import type { PersonalisationSpec } from "../federation/personalisation/personalisationSpec";
import { checkedSpec } from "../federation/personalisation/personalisationRegistry";

/** Options of `createWorkerPool`. */
export interface WorkerPoolOptions {
  /** Number of worker threads; default the number of cores (`coreCount()`). */
  readonly size?: number;
  /** Backend of the workers; default the main thread's current backend (so results match the serial run). */
  readonly backend?: BackendName;
  /** Path of the worker entry file; default lib/parallel/fitWorker.js next to this file. */
  readonly workerFile?: string;
}

/** One tfjs backend's memory in one worker. */
export interface WorkerMemory {
  /** Live tensors. */
  readonly numTensors: number;
  /** Bytes held by them. */
  readonly numBytes: number;
}

/** One fit worker thread and what it holds. */
class PoolWorker extends WorkerThread<WorkerRequest, WorkerReply> {
  /** Participant id → the data object last sent (identity is the data version). */
  readonly sentData = new Map<string, ParticipantData>();
  modelKey: string | undefined;

  constructor(file: string, data: FitWorkerData) {
    super(file, data, `worker ${data.index}`);
  }
}

/** The model a run trains, as the workers need it. */
interface ModelSetup {
  readonly key: string;
  readonly topology: object;
  readonly evalBatchSize: number | undefined;
  readonly trainableFlags: boolean[];
}

function modelSetup(trainer: Trainer): ModelSetup {
  let spec;
  try {
    spec = trainer.toSpec();
  } catch (e) {
    throw new Error(`WorkerPoolFitExecutor: the workers cannot rebuild the trainer: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { topology, evalBatchSize } = spec;
  const trainableFlags = weightedLayers(trainer.model).map((l) => l.layer.trainable);
  return { key: JSON.stringify([topology, evalBatchSize]), topology, evalBatchSize, trainableFlags };
}

/** The one trainer all `participants` share (one run trains one model). */
function oneTrainer(participants: readonly Participant[], what: string): Trainer {
  const trainer = participants[0].trainer;
  for (const p of participants) {
    if (p.trainer !== trainer) throw new Error(`WorkerPoolFitExecutor.${what}: participant ${p.id} uses another trainer than participant ${participants[0].id}; one run trains one model`);
  }
  return trainer;
}

function currentBackend(): Promise<BackendName | undefined> {
  return backendInfo().then(
    (info) => {
      if (info) return info.name;
      const name = tf.getBackend();
      return name === "wasm" || name === "cpu" ? name : name === "tensorflow" ? "node" : undefined;
    },
    () => undefined,
  );
}

/** A `FitExecutor` over a pool of worker threads, each with its own backend and one model. */
export class WorkerPoolFitExecutor implements FitExecutor {
  /** "workers(n)". */
  readonly name: string;
  /** Number of worker threads. */
  readonly size: number;
  private readonly options: WorkerPoolOptions;
  private readonly file: string;
  private workers: PoolWorker[] = [];
  private backend: BackendName | undefined;
  private disposed = false;
  private running = false;
  private busy = 0;

  /** Check the options; workers start on the first `run`. */
  constructor(options: WorkerPoolOptions = {}) {
    const size = options.size ?? coreCount();
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`createWorkerPool: size must be an integer ≥ 1, got ${options.size}`);
    this.file = options.workerFile ?? path.join(__dirname, "fitWorker.js");
    if (!fs.existsSync(this.file)) throw new Error(`createWorkerPool: worker file ${this.file} does not exist`);
    this.size = size;
    this.name = `workers(${size})`;
    this.options = options;
  }

  /** Train every job on the pool; outcomes in job order, each with the participant's new state. */
  async run(jobs: readonly FitJob[], personalisation: Personalisation, onJobDone?: JobListener): Promise<FitOutcome[]> {
    if (this.disposed) throw new Error("WorkerPoolFitExecutor.run: the pool was disposed");
    if (this.running) throw new Error("WorkerPoolFitExecutor.run: a run is already in progress on this pool");
    if (jobs.length === 0) return [];
    this.running = true;
    try {
      return await this.holding(() => this.runJobs(jobs, personalisation, onJobDone));
    } finally {
      this.running = false;
    }
  }

  private async runJobs(jobs: readonly FitJob[], personalisation: Personalisation, onJobDone: JobListener | undefined): Promise<FitOutcome[]> {
    const setup = modelSetup(oneTrainer(jobs.map((j) => j.participant), "run"));
    const spec = checkedSpec(personalisation);
    const shared = new SharedWeightsMemo(updateArena());
    await this.start();
    return this.inLanes(jobs.length, async (slot, i) => {
      const outcome = await this.runJob(slot, jobs[i], setup, spec, shared);
      onJobDone?.(i, outcome);
      return outcome;
    });
  }

  /**
   * Evaluate every job on the pool (results in job order): each worker runs `Participant.evaluate`
   * on its cached copy of the participant's data, so the numbers are bitwise those of
   * `evaluateSerially` on the same backend.
   */
  async evaluate(jobs: readonly EvaluateJob[]): Promise<Evaluation[]> {
    if (this.disposed) throw new Error("WorkerPoolFitExecutor.evaluate: the pool was disposed");
    if (this.running) throw new Error("WorkerPoolFitExecutor.evaluate: a run is already in progress on this pool");
    if (jobs.length === 0) return [];
    this.running = true;
    try {
      return await this.holding(async () => {
        const setup = modelSetup(oneTrainer(jobs.map((j) => j.participant), "evaluate"));
        const shared = new SharedWeightsMemo(updateArena());
        await this.start();
        return this.inLanes(jobs.length, (slot, i) => this.evaluateJob(slot, jobs[i], setup, shared));
      });
    } finally {
      this.running = false;
    }
  }

  /** Run `count` jobs on the workers, each taking the next one when it is free (`runInLanes`); results in job order. */
  private inLanes<T>(count: number, job: (slot: number, index: number) => Promise<T>): Promise<T[]> {
    return runInLanes(count, this.workers.length, job);
  }

  /** `tf.memory()` of every worker (for leak checks); starts the workers if needed. */
  async memory(): Promise<WorkerMemory[]> {
    return this.holding(async () => {
      await this.start();
      return Promise.all(
        this.workers.map(async (w) => {
          const r = await w.call({ type: "memory" });
          if (!r.ok || !r.memory) throw new Error("WorkerPoolFitExecutor.memory: worker did not answer");
          return r.memory;
        }),
      );
    });
  }

  /** Drop cached participant data in every worker (all, or the given ids), e.g. after changing datasets. */
  async forgetData(participantIds?: readonly string[]): Promise<void> {
    await this.holding(() =>
      Promise.all(
        this.workers.map(async (w) => {
          if (w.dead) return;
          await w.call({ type: "forget", participantIds });
          if (participantIds) for (const id of participantIds) w.sentData.delete(id);
          else w.sentData.clear();
        }),
      ),
    );
  }

  /** Stop every worker thread. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Run `body` with every worker ref'd: an idle pool must not keep the process alive, but a pending
   * call must (a promise alone does not hold Node's event loop open).
   */
  private async holding<T>(body: () => Promise<T>): Promise<T> {
    this.busy += 1;
    this.workers.forEach((w) => w.hold(true));
    try {
      return await body();
    } finally {
      this.busy -= 1;
      if (this.busy === 0) this.workers.forEach((w) => w.hold(false));
    }
  }

  private async start(): Promise<void> {
    if (this.disposed) throw new Error("WorkerPoolFitExecutor: the pool was disposed");
    if (this.workers.length === this.size && this.workers.every((w) => !w.dead)) return;
    if (this.backend === undefined) this.backend = this.options.backend ?? (await currentBackend());
    for (let slot = 0; slot < this.size; slot++) {
      const w = this.workers[slot];
      if (!w || w.dead) this.workers[slot] = this.spawn(slot);
    }
    await Promise.all(this.workers.map((w) => w.ready));
  }

  private spawn(slot: number): PoolWorker {
    const w = new PoolWorker(this.file, { backend: this.backend, index: slot });
    w.hold(this.busy > 0);
    return w;
  }

  /** Make sure `w` has the model and the participant's data; a failure here is the pool's, not the participant's. */
  private async prepare(w: PoolWorker, p: Participant, setup: ModelSetup): Promise<void> {
    await w.ready;
    if (w.modelKey !== setup.key) {
      const r = await w.call({ type: "model", modelKey: setup.key, topology: setup.topology, evalBatchSize: setup.evalBatchSize });
      if (r.ok === false) throw new Error(`WorkerPoolFitExecutor: a worker could not build model ${p.trainer.model.name}: ${r.error.message}`);
      w.modelKey = setup.key;
    }
    if (w.sentData.get(p.id) !== p.data) {
      const r = await w.call({ type: "data", participantId: p.id, train: p.data.train, validation: p.data.validation, test: p.data.test });
      if (r.ok === false) throw new Error(`WorkerPoolFitExecutor: sending participant ${p.id}'s data failed: ${r.error.message}`);
      w.sentData.set(p.id, p.data);
    }
  }

  /** The worker of `slot`, alive, with the model and `p`'s data; a worker that died before the job started is replaced once. */
  private async preparedWorker(slot: number, p: Participant, setup: ModelSetup): Promise<PoolWorker> {
    let w = this.workers[slot];
    if (w.dead) {
      w = this.spawn(slot);
      this.workers[slot] = w;
    }
    try {
      await this.prepare(w, p, setup);
    } catch (e) {
      if (!w.dead) throw e;
      // The worker died (e.g. out of memory) before this job started: the job was not run yet, so try a fresh worker once.
      w = this.spawn(slot);
      this.workers[slot] = w;
      await this.prepare(w, p, setup);
    }
    return w;
  }

  private async evaluateJob(slot: number, job: EvaluateJob, setup: ModelSetup, shared: SharedWeightsMemo): Promise<Evaluation> {
    const w = await this.preparedWorker(slot, job.participant, setup);
    const reply = await w.call({ type: "evaluate", participantId: job.participant.id, weights: shared.of(job.weights), split: job.split });
    if (reply.ok === false) throw deserialiseError(reply.error);
    if (!reply.evaluation) throw new Error(`WorkerPoolFitExecutor.evaluate: the worker sent no evaluation for participant ${job.participant.id}`);
    return reply.evaluation;
  }

  private async runJob(slot: number, job: FitJob, setup: ModelSetup, spec: PersonalisationSpec, shared: SharedWeightsMemo): Promise<FitOutcome> {
    const p = job.participant;
    const w = await this.preparedWorker(slot, p, setup);
    const arena = updateArena();
    const target = arena === undefined ? undefined : arenaBlockFor(arena, job.global);
    let reply: Extract<WorkerReply, { type: "reply" }>;
    try {
      reply = await w.call({
        type: "fit",
        participantId: p.id,
        global: shared.of(job.global),
        state: p.state,
        config: job.config,
        personalisation: spec,
        trainableFlags: setup.trainableFlags,
        arena: target,
      });
    } catch (e) {
      if (target !== undefined) arena!.release(target.block);
      // The worker died during this job: the participant's failure (its state is unchanged); the next job gets a new worker.
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
    const fit = reply.ok ? (reply.fit as FitResultPayload) : undefined;
    if (target !== undefined && fit?.inArena !== true) arena!.release(target.block);
    if (reply.ok === false) return { ok: false, error: deserialiseError(reply.error) };
    if (fit === undefined) throw new Error(`WorkerPoolFitExecutor.run: the worker sent no update for participant ${p.id}`);
    // The update's views of the arena, registered: its block is reused only once nobody holds them.
    const weights = target !== undefined && fit.inArena ? arena!.adopt(target.block, target.layout, fit.weights) : fit.weights;
    // `seconds` (the fit's time in the worker) is read by Federation's timeout check; the new state is committed by the loop.
    return {
      ok: true,
      update: { participantId: p.id, weights, numExamples: p.numExamples, metrics: fit.metrics },
      newState: fit.state,
      seconds: fit.seconds,
    };
  }
}

/** A block of `arena` for an update shaped like `global` (the model's variables), or undefined if the arena is full. */
function arenaBlockFor(arena: UpdateArena, global: ModelWeights): ArenaBlock | undefined {
  const layout = arenaLayout(global.map((w) => w.values.length));
  const block = arena.allocate(layout.bytes);
  return block === undefined ? undefined : { memory: arena.memory, block, layout };
}

/** A worker-thread pool executor (default size: the number of cores). Dispose it when done. */
export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPoolFitExecutor {
  return new WorkerPoolFitExecutor(options);
}
