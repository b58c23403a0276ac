import type { Dataset, ParticipantData } from "../lib/data/dataset";
import { serialFitExecutor } from "../lib/federation/executor";
import type { FitExecutor, FitJob } from "../lib/federation/executor";
import { createParticipants } from "../lib/federation/participant";
import { NoPersonalisation } from "../lib/federation/personalisation/noPersonalisation";
import { buildCnn } from "../lib/model/cnn";
import { Trainer } from "../lib/model/trainer";
import { createWorkerPool } from "../lib/parallel/workerPoolFitExecutor";
import { deriveSeed, Rng } from "../lib/util/rng";

/** Best-of-`reps` seconds of one round's local training for each executor. */
export interface PoolSpeedup {
  readonly participants: number;
  /** Training samples processed in one round (all participants). */
  readonly samplesPerRound: number;
  readonly serialSeconds: number;
  /** Pool size → seconds. */
  readonly poolSeconds: ReadonlyMap<number, number>;
}

function randomSplit(rng: Rng, n: number, name: string): Dataset {
  const x = new Float32Array(n * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  return { name, x, y, sampleShape: [28, 28, 1], numClasses: 10, classNames: Array.from({ length: 10 }, (_, c) => String(c)) };
}

/**
 * Bench item 4: one round of `participants` × CNN local training (1 epoch, batch 32, `trainSamples`
 * each) through the serial executor and through worker pools of the given sizes. Each executor
 * runs one untimed round first (worker start-up, data transfer, first-call costs), then `reps`
 * timed rounds; the fastest counts.
 */
export async function poolSpeedup(participants: number, trainSamples: number, poolSizes: readonly number[], reps: number, seed = 8): Promise<PoolSpeedup> {
  const rng = new Rng(seed);
  const data: ParticipantData[] = Array.from({ length: participants }, (_, i) => ({
    train: randomSplit(rng, trainSamples, `p${i}/train`),
    validation: randomSplit(rng, 16, `p${i}/validation`),
    test: randomSplit(rng, 16, `p${i}/test`),
  }));
  const trainer = new Trainer(buildCnn({ numClasses: 10, seed }));
  const global = trainer.getWeights();
  const method = new NoPersonalisation();
  const jobs = (round: number): FitJob[] =>
    createParticipants(trainer, data).map((participant) => ({
      participant,
      global,
      config: { epochs: 1, batchSize: 32, learningRate: 0.01, momentum: 0.9, proximalMu: 0, seed: deriveSeed(seed, round, participant.id) },
    }));
  const time = async (executor: FitExecutor): Promise<number> => {
    await executor.run(jobs(0), method);
    let best = Infinity;
    for (let r = 1; r <= reps; r++) {
      const t0 = performance.now();
      const out = await executor.run(jobs(r), method);
      best = Math.min(best, (performance.now() - t0) / 1000);
      const failed = out.find((o) => !o.ok);
      if (failed && !failed.ok) throw new Error(`poolSpeedup: ${executor.name} failed a job: ${failed.error.message}`);
    }
    return best;
  };
  try {
    const serialSeconds = await time(serialFitExecutor);
    const poolSeconds = new Map<number, number>();
    for (const size of poolSizes) {
      const pool = createWorkerPool({ size });
      try {
        poolSeconds.set(size, await time(pool));
      } finally {
        await pool.dispose();
      }
    }
    return { participants, samplesPerRound: participants * trainSamples, serialSeconds, poolSeconds };
  } finally {
    trainer.dispose();
  }
}
