/**
 * The personalised-FL benchmark setting that PFLlib (Zhang et al., "PFLlib: Personalized Federated
 * Learning Algorithm Library") uses: Fashion-MNIST, 20 clients with 2 labels each (its "pat"
 * partition), each client's data split 75 % train / 25 % test, the 4-layer CNN (conv 5×5 32 → pool →
 * conv 5×5 64 → pool → dense 512 → dense 10), batch 10, plain SGD with lr 0.005, one local epoch,
 * every client every round. FedAvg is scored with its global model, FedPer and Ditto with each
 * client's personal model, on each client's own test split (example-weighted mean), per round.
 *
 * PFLlib pools all 70,000 images (training and test files) before it partitions; `pool: true` with
 * the optional dataset "fashion-mnist-full" (built by `npm run data` from Debian's
 * dataset-fashion-mnist) does the same, the default uses the shipped first 10,000 training images.
 * Labels are dealt as 2 single-label shards per client by default (so a client may hold two shards
 * of one label, and all clients hold about the same number of images), or with `partition: "pfllib"`
 * as PFLlib does (each label to 4 fixed clients in unequal random amounts; pflPathologicalPartition).
 * Differences, stated: pixels in [0, 1] (PFLlib normalises to [−1, 1]); a seeded Rng instead of
 * numpy's; Ditto's λ and personal epochs are fedtune's (λ = 0.1, one epoch; PFLlib's default μ is 0).
 */
import type { ColumnTable } from "arquero";
import { subsetDataset, type Dataset, type ParticipantData } from "../data/dataset";
import { loadDataset } from "../data/loadDataset";
import { shardPartition } from "../data/partition/shardPartition";
import { pflPathologicalPartition } from "../data/partition/pflPathologicalPartition";
import { splitParticipant } from "../data/splitParticipant";
import { buildCnn } from "../model/cnn";
import type { FitConfig } from "../federation/types";
import type { Personalisation } from "../federation/personalisation/personalisation";
import { NoPersonalisation } from "../federation/personalisation/noPersonalisation";
import { FedPer } from "../federation/personalisation/fedPer";
import { Ditto } from "../federation/personalisation/ditto";
import { FedAvg } from "../federation/strategies/fedAvg";
import { Participant } from "../federation/participant";
import { deriveSeed } from "../util/rng";
import { serverMetric } from "../analysis/serverMetric";
import { seededRuns } from "./seededRuns";
import { concatDatasets } from "../data/partition/byDatasetPartition";
import { finalCheckpoint, resumableFederation, runCheckpointing, type RunCheckpointing } from "./resumableFederation";
import type { FitExecutor } from "../federation/executor";
import { checkedSpec } from "../federation/personalisation/personalisationRegistry";
import { withReproductionWorkers, type ReproductionLanes } from "./reproductionLanes";
import type { ReproductionJob } from "./reproductionProtocol";
import type * as tf from "@tensorflow/tfjs";

/** PFLlib's FedAvgCNN for 28×28×1 images: conv 5×5 32 valid → ReLU → pool 2 → conv 5×5 64 → ReLU → pool 2 → dense 512 → dense 10. */
export function buildPflCnn(seed: number): tf.Sequential {
  return buildCnn({ inputShape: [28, 28, 1], filters: [32, 64], kernelSize: 5, padding: "valid", denseUnits: 512, numClasses: 10, seed });
}

/** How the 2-label clients are dealt: fedtune's single-label shards, or PFLlib's own "pat" partition (unbalanced). */
export type PflPartition = "shards" | "pfllib";

/** Clients holding 2 labels each (`partition`, default 2 single-label shards), split 75 / 25 into train / test (no validation split, as in PFLlib). */
export function twoLabelClients(data: Dataset, numClients: number, seed: number, testFraction = 0.25, partition: PflPartition = "shards"): ParticipantData[] {
  const parts =
    partition === "pfllib"
      ? pflPathologicalPartition(data.y, { numParticipants: numClients, classesPerParticipant: 2, seed })
      : shardPartition(data.y, { numParticipants: numClients, shardsPerParticipant: 2, seed });
  return parts.map((indices, i) =>
    splitParticipant(data, indices, { validationFraction: 0, testFraction, seed: deriveSeed(seed, "client", i), name: `${data.name}/client-${i}` }),
  );
}

/** A method of the benchmark: a label and a fresh personalisation per run (the strategy is FedAvg for all). */
export interface PflMethod {
  readonly label: string;
  readonly personalisation: () => Personalisation;
}

/** FedAvg (the global model), FedPer (shared body, personal last layer) and Ditto (λ-regularised personal models). */
export function pflMethods(options: { readonly dittoLambda?: number } = {}): PflMethod[] {
  return [
    { label: "FedAvg (global)", personalisation: () => new NoPersonalisation() },
    { label: "FedPer (personal)", personalisation: () => new FedPer({ headLayers: 1 }) },
    { label: "Ditto (personal)", personalisation: () => new Ditto({ lambda: options.dittoLambda ?? 0.1 }) },
  ];
}

/** PFLlib's local settings: one epoch, batch 10, lr 0.005, no momentum. */
export const PFL_FIT_CONFIG: FitConfig = { epochs: 1, batchSize: 10, learningRate: 0.005, momentum: 0, proximalMu: 0 };

/** Options of `runPflBenchmark`. */
export interface PflBenchmarkOptions {
  /** Clients (PFLlib: 20). */
  readonly numClients: number;
  /** Rounds per run (PFLlib: 2,000). */
  readonly rounds: number;
  /** One repetition per seed (split, initial weights, shuffles). */
  readonly seeds: readonly number[];
  readonly methods: readonly PflMethod[];
  /** First `limit` images of the dataset's training file (default all); with `pool`, of the pooled images. */
  readonly limit?: number;
  /** Dataset name (default "fashion-mnist"; "fashion-mnist-full" is the optional 70,000-image build). */
  readonly dataset?: string;
  /** Pool the dataset's training and test files before partitioning, as PFLlib does (default false: the training file only). */
  readonly pool?: boolean;
  /** How labels are dealt (default "shards"; "pfllib" is PFLlib's own unbalanced "pat" partition). */
  readonly partition?: PflPartition;
  /** Checkpoint each run in its own folder under `checkpoint.dir` and continue from there when run again (long runs). */
  readonly checkpoint?: RunCheckpointing;
  /** Called after each round trained in this process (not for rounds read back from a checkpoint). */
  readonly onRound?: (round: { readonly method: string; readonly seed: number; readonly round: number; readonly accuracy: number; readonly seconds: number }) => void;
  /** Local settings (default PFL_FIT_CONFIG). */
  readonly fitConfig?: FitConfig;
  /** Called after each run. */
  readonly onRun?: (run: { readonly method: string; readonly seed: number; readonly finalAccuracy: number; readonly seconds: number }) => void;
  /** Threads to use (default 1: every run here, one after another): runs on parallel lanes, the rest as each run's fit pool (`workerPlan`); results are the same for any count. */
  readonly workers?: number;
}

/** What `runPflBenchmark` returns (arquero tables). */
export interface PflBenchmarkResult {
  /** Mean test accuracy (over clients, example-weighted) of the model each client uses, per round: method, seed, round, metric, value. */
  readonly curves: ColumnTable;
  /** Wall-clock seconds per run: method, seed, seconds. */
  readonly seconds: ColumnTable;
}

/** Run every method for every seed; the curve is `personalAccuracy` (for FedAvg the global model, which is what its clients use). */
export async function runPflBenchmark(options: PflBenchmarkOptions): Promise<PflBenchmarkResult> {
  const fn = "runPflBenchmark";
  if (!(Number.isInteger(options.numClients) && options.numClients >= 1)) throw new Error(`${fn}: numClients must be an integer ≥ 1, got ${options.numClients}`);
  if (!(Number.isInteger(options.rounds) && options.rounds >= 1)) throw new Error(`${fn}: rounds must be an integer ≥ 1, got ${options.rounds}`);
  const { methods, seeds, onRound, onRun: _onRun, ...jobOptions } = options;
  const rounds = onRound && ((r: Readonly<Record<string, string | number>>) => onRound(r as Parameters<typeof onRound>[0]));
  return withReproductionWorkers(options.workers ?? 1, seeds.length * methods.length, rounds, ({ lanes, pool, poolSize }) =>
    pflRuns(options, lanes, pool, (m, seed) => ({ kind: "pfllib", options: { ...jobOptions, workers: poolSize }, method: { label: m.label, personalisation: checkedSpec(m.personalisation()) }, seed })),
  );
}

/** The runs of `runPflBenchmark`: here (participants on `pool` when given) or, with `lanes`, each on a lane's worker thread. */
async function pflRuns(options: PflBenchmarkOptions, lanes: ReproductionLanes | undefined, pool: FitExecutor | undefined, job: (m: PflMethod, seed: number) => ReproductionJob): Promise<PflBenchmarkResult> {
  const data = lanes ? undefined : pflBenchmarkData(options);
  return seededRuns({
    seeds: options.seeds,
    methods: options.methods,
    lanes: lanes?.count ?? 1,
    runElsewhere: lanes && ((m, seed, lane) => lanes.run(job(m, seed), lane)),
    buildModel: (seed) => buildPflCnn(deriveSeed(seed, "init")),
    prepare: (seed) => twoLabelClients(data as Dataset, options.numClients, deriveSeed(seed, "split"), 0.25, options.partition),
    run: async (m, { seed, trainer, initialWeights, prepared: clients }) => {
      const checkpoint = runCheckpointing(options.checkpoint, m.label, seed);
      const f = await resumableFederation({
        participants: clients.map((d, i) => new Participant({ id: `client-${i}`, data: d, trainer })),
        strategy: new FedAvg(),
        personalisation: m.personalisation(),
        rounds: options.rounds,
        trainer,
        initialWeights,
        fitConfig: options.fitConfig ?? PFL_FIT_CONFIG,
        seed: deriveSeed(seed, "federation"),
        fitExecutor: pool,
      }, checkpoint);
      while (!f.done) {
        const t0 = Date.now();
        const record = await f.runRound();
        options.onRound?.({ method: m.label, seed, round: record.round, accuracy: record.server.personalAccuracy, seconds: (Date.now() - t0) / 1000 });
      }
      finalCheckpoint(f, checkpoint);
      return serverMetric(f.result().history, "personalAccuracy");
    },
    onRun: (m, seed, series, seconds) => {
      const values = series.array("value") as number[];
      options.onRun?.({ method: m.label, seed, finalAccuracy: values[values.length - 1], seconds });
    },
  });
}

/** The images the clients are cut from: the dataset's training file, or training + test pooled (`pool`, as PFLlib), then the first `limit`. */
export function pflBenchmarkData(options: Pick<PflBenchmarkOptions, "dataset" | "pool" | "limit">): Dataset {
  const name = options.dataset ?? "fashion-mnist";
  if (!options.pool) return loadDataset(name, { split: "train", limit: options.limit });
  const pooled = concatDatasets([loadDataset(name, { split: "train" }), loadDataset(name, { split: "test" })], `${name}/train+test`).dataset;
  if (options.limit === undefined || options.limit >= pooled.y.length) return pooled;
  return subsetDataset(pooled, Array.from({ length: options.limit }, (_, i) => i), pooled.name);
}
