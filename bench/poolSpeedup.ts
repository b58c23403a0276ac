import * as fs from "node:fs";
import type * as tf from "@tensorflow/tfjs";
import type { ParticipantData } from "../lib/data/dataset";
import { serialFitExecutor } from "../lib/federation/executor";
import type { FitExecutor, FitJob } from "../lib/federation/executor";
import { createParticipants } from "../lib/federation/participant";
import { NoPersonalisation } from "../lib/federation/personalisation/noPersonalisation";
import { buildCnn } from "../lib/model/cnn";
import { Trainer } from "../lib/model/trainer";
import { createWorkerPool } from "../lib/parallel/workerPoolFitExecutor";
import { deriveSeed, Rng } from "../lib/util/rng";
import { randomImages } from "./randomImages";

/** Best-of-`reps` seconds of one round's local training for each executor. */
export interface PoolSpeedup {
  readonly participants: number;
  /** Training samples processed in one round (all participants). */
  readonly samplesPerRound: number;
  readonly serialSeconds: number;
  /** Pool size → seconds. */
  readonly poolSeconds: ReadonlyMap<number, number>;
  /**
   * Executor ("serial" or the pool size) → the mean time of one job as the executor timed it (the fit alone, in the
   * worker for a pool) in the fastest round: a pool of 2 whose jobs take longer than a pool of 1's is slowed by the
   * two cores sharing the machine, not by the pool's own costs.
   */
  readonly jobSeconds: ReadonlyMap<"serial" | number, number>;
  /**
   * Executor → the whole process's CPU seconds (every thread) and minor page faults in its fastest round. CPU time
   * compares the executors' work without the other processes' load; page faults are what a fresh large allocation
   * costs on a VM (about 20 µs each here), the cause of a job's old slowness in a worker.
   */
  readonly roundCost: ReadonlyMap<"serial" | number, RoundCost>;
}

/** What one round cost the whole process. */
export interface RoundCost {
  readonly cpuSeconds: number;
  readonly minorFaults: number;
  /**
   * Seconds the process's threads spent runnable but waiting for a core (the sum over threads, from Linux's
   * /proc/self/task/∗/schedstat; NaN elsewhere): a fit that takes longer in a pool of 2 while this grows was waiting for a
   * core (the main thread, V8's helper threads, other processes), not doing more work.
   */
  readonly waitSeconds: number;
}

/** Nanoseconds every thread of this process has spent waiting for a core so far (NaN where /proc has no schedstat). */
function threadsWaitNs(): number {
  try {
    let sum = 0;
    for (const tid of fs.readdirSync("/proc/self/task")) {
      try {
        sum += Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[1]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return sum;
  } catch {
    return NaN;
  }
}

/** The local training of a round: model and SGD settings. */
export interface RoundSetting {
  /** Builds the (seeded) model. */
  readonly model: (seed: number) => tf.Sequential;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly momentum: number;
}

/** Item 4's setting: the default CNN, batch 32, SGD with momentum. */
export const DEFAULT_ROUND: RoundSetting = { model: (seed) => buildCnn({ numClasses: 10, seed }), batchSize: 32, learningRate: 0.01, momentum: 0.9 };

/**
 * Bench item 4: one round of `participants` × local training (1 epoch of `trainSamples` each; by default the CNN at
 * batch 32) through the serial executor and through worker pools of the given sizes. Each executor runs `warmupRounds`
 * untimed rounds first (worker start-up, data transfer, first-call costs; with more than one, also a run's first
 * rounds of fresh memory: the update arena's first 32 MiB, malloc's first arenas), then `reps` timed rounds; the
 * fastest counts.
 */
export async function poolSpeedup(participants: number, trainSamples: number, poolSizes: readonly number[], reps: number, seed = 8,
  setting: RoundSetting = DEFAULT_ROUND, warmupRounds = 1): Promise<PoolSpeedup> {
  const rng = new Rng(seed);
  const data: ParticipantData[] = Array.from({ length: participants }, (_, i) => ({
    train: randomImages(rng, trainSamples, `p${i}/train`),
    validation: randomImages(rng, 16, `p${i}/validation`),
    test: randomImages(rng, 16, `p${i}/test`),
  }));
  const trainer = new Trainer(setting.model(seed));
  const global = trainer.getWeights();
  const method = new NoPersonalisation();
  const jobs = (round: number): FitJob[] =>
    createParticipants(trainer, data).map((participant) => ({
      participant,
      global,
      config: { epochs: 1, batchSize: setting.batchSize, learningRate: setting.learningRate, momentum: setting.momentum, proximalMu: 0, seed: deriveSeed(seed, round, participant.id) },
    }));
  const jobSeconds = new Map<"serial" | number, number>();
  const roundCost = new Map<"serial" | number, RoundCost>();
  const time = async (executor: FitExecutor, key: "serial" | number): Promise<number> => {
    for (let r = 1 - warmupRounds; r <= 0; r++) await executor.run(jobs(r), method);
    let best = Infinity;
    for (let r = 1; r <= reps; r++) {
      const round = jobs(r);
      const cpu0 = process.cpuUsage();
      const faults0 = process.resourceUsage().minorPageFault;
      const wait0 = threadsWaitNs();
      const t0 = performance.now();
      const out = await executor.run(round, method);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const minorFaults = process.resourceUsage().minorPageFault - faults0;
      const waitSeconds = (threadsWaitNs() - wait0) / 1e9;
      const failed = out.find((o) => !o.ok);
      if (failed && !failed.ok) throw new Error(`poolSpeedup: ${executor.name} failed a job: ${failed.error.message}`);
      if (seconds < best) {
        best = seconds;
        jobSeconds.set(key, out.reduce((sum, o) => sum + (o.seconds ?? NaN), 0) / out.length);
        roundCost.set(key, { cpuSeconds: (cpu.user + cpu.system) / 1e6, minorFaults, waitSeconds });
      }
    }
    return best;
  };
  try {
    const serialSeconds = await time(serialFitExecutor, "serial");
    const poolSeconds = new Map<number, number>();
    for (const size of poolSizes) {
      const pool = createWorkerPool({ size });
      try {
        poolSeconds.set(size, await time(pool, size));
      } finally {
        await pool.dispose();
      }
    }
    return { participants, samplesPerRound: participants * trainSamples, serialSeconds, poolSeconds, jobSeconds, roundCost };
  } finally {
    trainer.dispose();
  }
}
