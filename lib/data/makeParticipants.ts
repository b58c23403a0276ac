/**
 * One-call construction of federated participants: load (or take) a dataset, partition it with a
 * named partitioner, split each participant's share into train / validation / test.
 * Also the by-dataset scenario: one participant per source dataset.
 */
import { Dataset, ParticipantData } from "./dataset";
import { datasetInfo } from "./catalog";
import { loadDataset } from "./loadDataset";
import { holdOutValidation, splitParticipant } from "./splitParticipant";
import { dirichletPartition } from "./partition/dirichletPartition";
import { iidPartition } from "./partition/iidPartition";
import { Partition } from "./partition/partitionArgs";
import { quantitySkewPartition } from "./partition/quantitySkewPartition";
import { shardPartition } from "./partition/shardPartition";
import { deriveSeed } from "../util/rng";

/** Which partitioner to use and its own parameters. */
export type PartitionSpec =
  | { readonly kind: "iid" }
  | { readonly kind: "dirichlet"; readonly alpha: number; readonly minSize?: number }
  | { readonly kind: "shard"; readonly shardsPerParticipant: number }
  | {
      readonly kind: "quantity";
      readonly distribution?: "lognormal" | "power-law";
      readonly sigma?: number;
      readonly exponent?: number;
      readonly minSize?: number;
    };

/** Run the partitioner named by `spec` on `labels`. */
export function partitionLabels(labels: ArrayLike<number>, spec: PartitionSpec, options: { numParticipants: number; seed: number }): Partition {
  switch (spec.kind) {
    case "iid":
      return iidPartition(labels, options);
    case "dirichlet":
      return dirichletPartition(labels, { ...options, alpha: spec.alpha, minSize: spec.minSize });
    case "shard":
      return shardPartition(labels, { ...options, shardsPerParticipant: spec.shardsPerParticipant });
    case "quantity":
      return quantitySkewPartition(labels, { ...options, distribution: spec.distribution, sigma: spec.sigma, exponent: spec.exponent, minSize: spec.minSize });
    default: {
      const unknown: never = spec;
      throw new Error(`partitionLabels: unknown partition kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}

/** Options of `makeParticipants`. */
export interface MakeParticipantsOptions {
  /** A shipped dataset name (its train split is partitioned) or a dataset in memory. */
  readonly dataset: string | Dataset;
  readonly partition: PartitionSpec;
  readonly numParticipants: number;
  readonly seed: number;
  /** Per participant (defaults 0.1 and 0.2, see splitParticipant). */
  readonly validationFraction?: number;
  readonly testFraction?: number;
  /** When loading by name: keep the first `limit` training samples, resize images, data directory. */
  readonly limit?: number;
  readonly resizeTo?: readonly [number, number];
  readonly dataDir?: string;
}

/** Partition a dataset among participants and split each share into train / validation / test. */
export function makeParticipants(options: MakeParticipantsOptions): ParticipantData[] {
  const ds =
    typeof options.dataset === "string"
      ? loadDataset(options.dataset, { split: "train", limit: options.limit, resizeTo: options.resizeTo, dataDir: options.dataDir })
      : options.dataset;
  const base = typeof options.dataset === "string" ? options.dataset : ds.name;
  const partition = partitionLabels(ds.y, options.partition, { numParticipants: options.numParticipants, seed: options.seed });
  return partition.map((indices, i) =>
    splitParticipant(ds, indices, {
      validationFraction: options.validationFraction,
      testFraction: options.testFraction,
      seed: deriveSeed(options.seed, "split", i),
      name: `${base}/participant-${i}`,
    }),
  );
}

/** A participant's id and its splits. */
export interface NamedParticipantData {
  readonly id: string;
  readonly data: ParticipantData;
}

/** Ids `${prefix}0`, `${prefix}1`, … zero-padded to the width of n − 1 ("p00" … "p11"): the one place participant ids are made. */
export function participantIds(n: number, prefix = "p"): string[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`participantIds: n must be an integer ≥ 0, got ${n}`);
  const width = String(Math.max(0, n - 1)).length;
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(width, "0")}`);
}

/** `makeParticipants`, each participant named by `participantIds` (p0, p1, …). */
export function makeNamedParticipants(options: MakeParticipantsOptions, idPrefix = "p"): NamedParticipantData[] {
  const data = makeParticipants(options);
  const ids = participantIds(data.length, idPrefix);
  return data.map((d, i) => ({ id: ids[i], data: d }));
}

/** One participant of a by-dataset set: its id and the shipped dataset it owns. */
export interface DatasetSource {
  readonly id: string;
  readonly dataset: string;
}

/** Options of `datasetParticipants`. */
export interface DatasetParticipantsOptions {
  /** One participant per entry (ids unique). */
  readonly sources: readonly DatasetSource[];
  /** Keep the first `trainLimit` samples of each training file (train + validation), `testLimit` of each test file; default all. */
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Share of each participant's training file kept for validation (stratified); default 0.1. */
  readonly validationFraction?: number;
  /** Size image datasets are resized to (one model needs one shape); tabular datasets are left alone. */
  readonly resizeTo?: readonly [number, number];
  /** Seed of the validation splits: participant `id` uses deriveSeed(seed, "participant", id). */
  readonly seed: number;
  readonly dataDir?: string;
}

/**
 * The by-dataset participant set (domain shift): each participant owns one whole shipped dataset,
 * trains on the start of its training file minus a stratified validation share, and tests on its
 * own test file. The one builder behind `fedtune run`'s by-dataset data, `documentParticipants`
 * and `byDatasetParticipants`.
 */
export function datasetParticipants(options: DatasetParticipantsOptions): NamedParticipantData[] {
  const vf = options.validationFraction ?? 0.1;
  if (!(vf >= 0 && vf < 1)) throw new Error(`datasetParticipants: validationFraction must be in [0, 1), got ${vf}`);
  const ids = options.sources.map((s) => s.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`datasetParticipants: participant id "${twice}" appears twice`);
  return options.sources.map(({ id, dataset }) => {
    const resizeTo = datasetInfo(dataset).kind === "image" ? options.resizeTo : undefined;
    const train = loadDataset(dataset, { split: "train", limit: options.trainLimit, resizeTo, dataDir: options.dataDir });
    const test = loadDataset(dataset, { split: "test", limit: options.testLimit, resizeTo, dataDir: options.dataDir });
    return { id, data: holdOutValidation(train, test, { validationFraction: vf, seed: deriveSeed(options.seed, "participant", id), name: id }) };
  });
}

/** Options of `byDatasetParticipants`. */
export interface ByDatasetParticipantsOptions {
  /** Shipped dataset names, one participant each (default: mnist, fashion-mnist, digits). */
  readonly datasets?: readonly string[];
  /** Common image size (default [28, 28]) so that one model fits every participant. */
  readonly resizeTo?: readonly [number, number];
  /** Share of each participant's training file kept for validation (default 0.1). */
  readonly validationFraction?: number;
  /** Keep at most this many training / test samples per participant (default: all). */
  readonly trainLimit?: number;
  readonly testLimit?: number;
  readonly seed: number;
  readonly dataDir?: string;
}

/**
 * The three-participant domain-shift scenario: each participant owns one whole dataset, trains on
 * its train file (minus a stratified validation share) and tests on its own test file. The data of
 * `datasetParticipants` with the dataset names as ids.
 */
export function byDatasetParticipants(options: ByDatasetParticipantsOptions): ParticipantData[] {
  const names = options.datasets ?? ["mnist", "fashion-mnist", "digits"];
  const set = datasetParticipants({ ...options, sources: names.map((name) => ({ id: name, dataset: name })), resizeTo: options.resizeTo ?? [28, 28] });
  const shape = set[0]?.data.train.sampleShape.join("x");
  for (const p of set) {
    if (p.data.train.sampleShape.join("x") !== shape) {
      throw new Error(`byDatasetParticipants: ${p.id} has sample shape [${p.data.train.sampleShape.join(", ")}], expected ${shape}; pass a common resizeTo`);
    }
  }
  return set.map((p) => p.data);
}
