/**
 * McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized Data"
 * (the FedAvg paper), §3 and Table 2: MNIST split pathologically non-IID (sorted by label, cut into
 * shards, 2 shards per client), the "2NN" (two hidden layers of 200 ReLU units, 199,210
 * parameters), a fraction C = 0.1 of the clients per round, and the number of rounds until the
 * global model reaches a target test accuracy — FedSGD (E = 1, B = ∞) against FedAvg (E = 5, B = 10).
 *
 * Differences from the paper, on purpose and stated: the shipped MNIST subset (8,000 training and
 * 2,000 test images, not 60,000 / 10,000), so each of 100 clients holds 80 images, not 600; shards
 * never straddle two labels (see shardPartition); one fixed learning rate per method instead of the
 * paper's per-setting grid search; plain SGD without learning-rate decay.
 */
import type { ColumnTable } from "arquero";
import type { Dataset, ParticipantData } from "../data/dataset";
import { loadDataset } from "../data/loadDataset";
import { shardPartition } from "../data/partition/shardPartition";
import { splitParticipant } from "../data/splitParticipant";
import { buildMlp } from "../model/mlp";
import type { FitConfig } from "../federation/types";
import { fedSgdFitConfig } from "../federation/fedSgd";
import { FedAvg } from "../federation/strategies/fedAvg";
import { Participant } from "../federation/participant";
import { deriveSeed } from "../util/rng";
import { serverMetric, serverMetricAt } from "../analysis/serverMetric";
import { roundsToTarget } from "../analysis/roundsToTarget";
import { CentralEvaluation } from "../federation/strategies/centralEvaluation";
import { seededRuns } from "./seededRuns";
import { finalCheckpoint, resumableFederation, runCheckpointing, type RunCheckpointing } from "./resumableFederation";
import type { FitExecutor } from "../federation/executor";
import { withReproductionWorkers, type ReproductionLanes } from "./reproductionLanes";
import type { ReproductionJob } from "./reproductionProtocol";
import type * as tf from "@tensorflow/tfjs";

/** The paper's 2NN for 28×28×1 images: 784 → 200 → 200 → 10, ReLU, softmax (199,210 parameters). */
export function buildMnist2nn(seed: number): tf.Sequential {
  return buildMlp({ inputShape: [28, 28, 1], hiddenUnits: [200, 200], numClasses: 10, seed });
}

/** Pathological non-IID clients: `train` sorted by label into 2 single-label shards per client; all of a client's data trains. */
export function pathologicalClients(train: Dataset, numClients: number, seed: number): ParticipantData[] {
  const parts = shardPartition(train.y, { numParticipants: numClients, shardsPerParticipant: 2, seed });
  return parts.map((indices, i) =>
    splitParticipant(train, indices, { validationFraction: 0, testFraction: 0, seed: deriveSeed(seed, "client", i), name: `${train.name}/client-${i}` }),
  );
}

/** One method of the comparison: a label and its local settings. */
export interface PaperMethod {
  readonly label: string;
  readonly fitConfig: FitConfig;
}

/** The two methods compared: FedSGD (one full-batch step per round) and FedAvg with E = 5, B = 10, both plain SGD with the given learning rates. */
export function fedAvgPaperMethods(learningRates: { readonly fedSgd: number; readonly fedAvg: number }): PaperMethod[] {
  return [
    { label: "FedSGD (E=1, B=∞)", fitConfig: fedSgdFitConfig(learningRates.fedSgd) },
    { label: "FedAvg (E=5, B=10)", fitConfig: { epochs: 5, batchSize: 10, learningRate: learningRates.fedAvg, momentum: 0, proximalMu: 0 } },
  ];
}

/** Options of `runFedAvgPaper`. */
export interface FedAvgPaperOptions {
  /** Clients K (the paper: 100). */
  readonly numClients: number;
  /** Fraction C of the clients sampled per round (the paper: 0.1). */
  readonly clientFraction: number;
  /** Target central test accuracy (the paper: 0.97 for the 2NN). */
  readonly target: number;
  /** Give up after this many rounds (the run then has no rounds-to-target figure). */
  readonly maxRounds: number;
  /** One repetition per seed: split, initial weights, sampling and shuffles all derive from it. */
  readonly seeds: readonly number[];
  readonly methods: readonly PaperMethod[];
  /** First `trainLimit` / `testLimit` images of the shipped MNIST files (default all). */
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Checkpoint each run in its own folder under `checkpoint.dir` and continue from there when run again (long runs). */
  readonly checkpoint?: RunCheckpointing;
  /** Called after each run. */
  readonly onRun?: (run: { readonly method: string; readonly seed: number; readonly rounds: number; readonly reached: boolean; readonly seconds: number }) => void;
  /** Called after each round trained in this process (not for rounds read back from a checkpoint). */
  readonly onRound?: (round: { readonly method: string; readonly seed: number; readonly round: number; readonly accuracy: number }) => void;
  /** Threads to use (default 1: every run here, one after another): runs on parallel lanes, the rest as each run's fit pool (`workerPlan`); results are the same for any count. */
  readonly workers?: number;
}

/** What `runFedAvgPaper` returns (arquero tables). */
export interface FedAvgPaperResult {
  /** Central test accuracy per round: method, seed, round, metric, value. */
  readonly curves: ColumnTable;
  /** Rounds to the target per run: method, seed, rounds (NaN when not reached), reached, lastRound. */
  readonly rounds: ColumnTable;
  /** Wall-clock seconds per run: method, seed, seconds. */
  readonly seconds: ColumnTable;
}

/** Run every method for every seed until the global model reaches `target` on MNIST's test images (or `maxRounds`). */
export async function runFedAvgPaper(options: FedAvgPaperOptions): Promise<FedAvgPaperResult> {
  checkOptions(options);
  const { methods, seeds, onRound, onRun: _onRun, ...jobOptions } = options;
  const rounds = onRound && ((r: Readonly<Record<string, string | number>>) => onRound(r as Parameters<typeof onRound>[0]));
  return withReproductionWorkers(options.workers ?? 1, seeds.length * methods.length, rounds, ({ lanes, pool, poolSize }) =>
    paperRuns(options, lanes, pool, (m, seed) => ({ kind: "mcmahan", options: { ...jobOptions, workers: poolSize }, method: m, seed })),
  );
}

/** The runs of `runFedAvgPaper`: here (participants on `pool` when given) or, with `lanes`, each on a lane's worker thread. */
async function paperRuns(options: FedAvgPaperOptions, lanes: ReproductionLanes | undefined, pool: FitExecutor | undefined, job: (m: PaperMethod, seed: number) => ReproductionJob): Promise<FedAvgPaperResult> {
  const train = lanes ? undefined : loadDataset("mnist", { split: "train", limit: options.trainLimit });
  const test = lanes ? undefined : loadDataset("mnist", { split: "test", limit: options.testLimit });
  const { curves, seconds } = await seededRuns({
    seeds: options.seeds,
    methods: options.methods,
    lanes: lanes?.count ?? 1,
    runElsewhere: lanes && ((m, seed, lane) => lanes.run(job(m, seed), lane)),
    buildModel: (seed) => buildMnist2nn(deriveSeed(seed, "init")),
    prepare: (seed) => pathologicalClients(train as Dataset, options.numClients, deriveSeed(seed, "split")),
    run: async (m, { seed, trainer, initialWeights, prepared: clients }) => {
      const checkpoint = runCheckpointing(options.checkpoint, m.label, seed);
      const f = await resumableFederation({
        participants: clients.map((d, i) => new Participant({ id: `client-${i}`, data: d, trainer })),
        strategy: new CentralEvaluation(new FedAvg(), { trainer, data: test as Dataset, participants: false }),
        rounds: options.maxRounds,
        trainer,
        initialWeights,
        sampling: { fraction: options.clientFraction },
        fitConfig: m.fitConfig,
        seed: deriveSeed(seed, "federation"),
        fitExecutor: pool,
      }, checkpoint);
      let accuracy = serverMetricAt(f.result().history, "centralAccuracy", "last");
      while (!f.done && !(accuracy >= options.target)) {
        accuracy = (await f.runRound()).server.centralAccuracy;
        options.onRound?.({ method: m.label, seed, round: f.round, accuracy });
      }
      finalCheckpoint(f, checkpoint);
      return serverMetric(f.result().history, "centralAccuracy");
    },
    onRun: (m, seed, series, secs) => {
      const r = roundsToTarget(series, options.target).object(0) as { rounds: number; reached: boolean };
      options.onRun?.({ method: m.label, seed, rounds: r.rounds, reached: r.reached, seconds: secs });
    },
  });
  return { curves, rounds: roundsToTarget(curves, options.target), seconds };
}

function checkOptions(o: FedAvgPaperOptions): void {
  const fn = "runFedAvgPaper";
  if (!(Number.isInteger(o.numClients) && o.numClients >= 1)) throw new Error(`${fn}: numClients must be an integer ≥ 1, got ${o.numClients}`);
  if (!(o.clientFraction > 0 && o.clientFraction <= 1)) throw new Error(`${fn}: clientFraction must be in (0, 1], got ${o.clientFraction}`);
  if (!(o.target > 0 && o.target <= 1)) throw new Error(`${fn}: target must be an accuracy in (0, 1], got ${o.target}`);
  if (!(Number.isInteger(o.maxRounds) && o.maxRounds >= 1)) throw new Error(`${fn}: maxRounds must be an integer ≥ 1, got ${o.maxRounds}`);
}
