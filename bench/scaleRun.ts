/**
 * Child process of bench item 6: one federated run with N virtual participants, alone in its
 * process so that its peak RSS is its own. Prints one JSON line: round times, peak RSS, tensors.
 * Usage: tsx bench/scaleRun.ts <participants> <rounds> [<workers>] (workers: train on a worker pool of that size).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { loadDataset } from "../lib/data/loadDataset";
import { splitParticipant } from "../lib/data/splitParticipant";
import { FedAvg } from "../lib/federation/strategies/fedAvg";
import { createParticipants } from "../lib/federation/participant";
import { runFederation } from "../lib/federation/federation";
import { buildMlp } from "../lib/model/mlp";
import { Trainer } from "../lib/model/trainer";
import { deriveSeed, Rng } from "../lib/util/rng";
import { createWorkerPool } from "../lib/parallel/workerPoolFitExecutor";

/** What one scale run reports. */
export interface ScaleRunResult {
  readonly participants: number;
  readonly sampledPerRound: number;
  readonly rounds: number;
  /** Worker threads training (0 = in this thread). */
  readonly workers: number;
  /** Mean wall-clock seconds of rounds 2..rounds (training of the sampled + evaluation of all); round 1 when only one. */
  readonly roundSeconds: number;
  /** Round 1 alone (includes worker start-up and first-call costs). */
  readonly firstRoundSeconds: number;
  /** Peak resident set size of the whole process, bytes. */
  readonly peakRssBytes: number;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2]);
  const rounds = Number(process.argv[3] ?? 3);
  const workers = Number(process.argv[4] ?? 0);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`scaleRun: participants must be an integer ≥ 1, got ${process.argv[2]}`);
  await initBackend({ log: false });
  // Virtual participants: each a seeded draw of 30 digits (8×8) from the 1,437 training images, so
  // every size has the same data per participant whatever N is.
  const digits = loadDataset("digits", { split: "train" });
  const rng = new Rng(deriveSeed(8, "scale"));
  const data = Array.from({ length: n }, (_, i) =>
    splitParticipant(digits, rng.sample(digits.y.length, 30), { validationFraction: 0.2, testFraction: 0.2, seed: deriveSeed(8, "split", i), name: `digits/v${i}` }),
  );
  const trainer = new Trainer(buildMlp({ inputShape: digits.sampleShape, hiddenUnits: [32], numClasses: 10, seed: 8 }));
  const participants = createParticipants(trainer, data);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  let last = performance.now();
  let sampled = 0;
  const pool = workers > 0 ? createWorkerPool({ size: workers }) : undefined;
  await runFederation({
    fitExecutor: pool,
    participants,
    strategy: new FedAvg(),
    rounds,
    sampling: { fraction: 0.1 },
    fitConfig: { epochs: 1, batchSize: 16, learningRate: 0.05 },
    evaluation: { personal: false },
    seed: 8,
    onRound: (record) => {
      const now = performance.now();
      if (record.round > 0) {
        times.push((now - last) / 1000);
        sampled = record.sampled.length;
      }
      last = now;
    },
  });
  await pool?.dispose();
  const steady = times.length > 1 ? times.slice(1) : times;
  const result: ScaleRunResult = {
    participants: n,
    workers,
    sampledPerRound: sampled,
    rounds,
    roundSeconds: steady.reduce((a, b) => a + b, 0) / steady.length,
    firstRoundSeconds: times[0],
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
  trainer.dispose();
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(`scaleRun failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
