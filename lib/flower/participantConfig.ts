/**
 * The JSON file that describes one fedtune participant of a Flower federation: which shipped
 * dataset and which share of it, the model architecture (must match the ServerApp's arrays), and
 * the local fine-tuning defaults a message's config may override. Every field is checked, and
 * errors name the file and the field.
 */
import * as fs from "fs";
import type { PartitionSpec } from "../data/makeParticipants";
import type { TrainableLayers } from "../model/freeze";
import type { PersonalisationConfig } from "../experiment/experimentConfig";
import { parsePersonalisation } from "./flowerFitSettings";
import { LOCAL_TRAINING_DEFAULTS } from "../federation/localTrainingDefaults";

/** Architecture of the participant's model (same for every participant of a federation). */
export type ParticipantModelSpec =
  | {
      readonly kind: "mlp";
      readonly hiddenUnits?: readonly number[];
      readonly activation?: "relu" | "tanh" | "sigmoid" | "elu";
      readonly batchNorm?: boolean;
      /** Initialiser seed (only used for `--write-initial-arrays`); default 0. */
      readonly seed?: number;
    }
  | {
      readonly kind: "cnn";
      readonly filters?: readonly number[];
      readonly kernelSize?: number;
      readonly denseUnits?: number;
      readonly batchNorm?: boolean;
      readonly seed?: number;
    };

/** Local fine-tuning defaults; a train message's config ("lr", "local-epochs", …) overrides them. */
export interface ParticipantTrainingSpec {
  /** Epochs per round (upper bound with early stopping); default 1 (LOCAL_TRAINING_DEFAULTS, as every default here). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly momentum: number;
  /** Early-stopping patience in epochs on the validation split; 0 turns it off (the default). */
  readonly patience: number;
  /** Which layers fine-tune: "all" or the last k weighted layers. Default "all". */
  readonly trainable: TrainableLayers;
}

/** A validated participant config. */
export interface ParticipantConfig {
  /** Name of the participant in logs and reports, e.g. "hospital-1". */
  readonly id: string;
  /** A shipped dataset (see `listDatasets`). */
  readonly dataset: string;
  /** How the dataset is split among `numParticipants` (same spec and seed on every participant). */
  readonly partition: PartitionSpec;
  readonly participantIndex: number;
  readonly numParticipants: number;
  /** Seed of the partition and of local training shuffles. */
  readonly seed: number;
  /** Use only the first `limit` samples of the dataset's train split. */
  readonly limit?: number;
  readonly validationFraction?: number;
  readonly testFraction?: number;
  readonly model: ParticipantModelSpec;
  readonly training: ParticipantTrainingSpec;
  /** The personalisation method (the experiment schema's section); the ServerApp's "personalisation" overrides it. Default none. */
  readonly personalisation?: PersonalisationConfig;
}

/** The one set of local-training defaults (lib/federation/localTrainingDefaults.ts), all layers training. */
const TRAINING_DEFAULTS: ParticipantTrainingSpec = {
  epochs: LOCAL_TRAINING_DEFAULTS.epochs,
  batchSize: LOCAL_TRAINING_DEFAULTS.batchSize,
  learningRate: LOCAL_TRAINING_DEFAULTS.learningRate,
  momentum: LOCAL_TRAINING_DEFAULTS.momentum,
  patience: LOCAL_TRAINING_DEFAULTS.earlyStoppingPatience,
  trainable: "all",
};

type Json = Record<string, unknown>;

/** Check a parsed JSON value as a participant config; `source` (a path) prefixes every error. */
export function parseParticipantConfig(value: unknown, source = "participant config"): ParticipantConfig {
  const fail = (field: string, what: string, got: unknown): never => {
    throw new Error(`${source}: field "${field}" ${what}, got ${JSON.stringify(got)}`);
  };
  const obj = (v: unknown, field: string): Json => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : fail(field, "must be an object", v));
  const int = (v: unknown, field: string, min: number): number => (Number.isInteger(v) && (v as number) >= min ? (v as number) : fail(field, `must be an integer ≥ ${min}`, v));
  const num = (v: unknown, field: string, ok: (x: number) => boolean, what: string): number => (typeof v === "number" && ok(v) ? v : fail(field, what, v));
  const str = (v: unknown, field: string): string => (typeof v === "string" && v.length > 0 ? v : fail(field, "must be a non-empty string", v));
  const opt = <T>(v: unknown, read: (x: unknown) => T): T | undefined => (v === undefined ? undefined : read(v));
  const known = (o: Json, field: string, keys: readonly string[]): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail(field === "" ? k : `${field}.${k}`, `is not a known field (known: ${keys.join(", ")})`, o[k]);
  };

  const c = obj(value, "(top level)");
  known(c, "", ["id", "dataset", "partition", "participantIndex", "numParticipants", "seed", "limit", "validationFraction", "testFraction", "model", "training", "personalisation"]);
  const numParticipants = int(c.numParticipants, "numParticipants", 1);
  const participantIndex = int(c.participantIndex, "participantIndex", 0);
  if (participantIndex >= numParticipants) fail("participantIndex", `must be < numParticipants (${numParticipants})`, participantIndex);

  const partition = parsePartition(c.partition === undefined ? { kind: "iid" } : obj(c.partition, "partition"), fail, num, int);
  const m = obj(c.model, "model");
  let model: ParticipantModelSpec;
  const intList = (v: unknown, field: string): number[] => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0) ? (v as number[]) : fail(field, "must be a non-empty list of positive integers", v));
  const bool = (v: unknown, field: string): boolean => (typeof v === "boolean" ? v : fail(field, "must be true or false", v));
  if (m.kind === "mlp") {
    known(m, "model", ["kind", "hiddenUnits", "activation", "batchNorm", "seed"]);
    const activation = opt(m.activation, (v) => (["relu", "tanh", "sigmoid", "elu"].includes(v as string) ? (v as "relu") : fail("model.activation", 'must be "relu", "tanh", "sigmoid" or "elu"', v)));
    model = { kind: "mlp", hiddenUnits: opt(m.hiddenUnits, (v) => intList(v, "model.hiddenUnits")), activation, batchNorm: opt(m.batchNorm, (v) => bool(v, "model.batchNorm")), seed: opt(m.seed, (v) => int(v, "model.seed", 0)) };
  } else if (m.kind === "cnn") {
    known(m, "model", ["kind", "filters", "kernelSize", "denseUnits", "batchNorm", "seed"]);
    model = {
      kind: "cnn",
      filters: opt(m.filters, (v) => intList(v, "model.filters")),
      kernelSize: opt(m.kernelSize, (v) => int(v, "model.kernelSize", 1)),
      denseUnits: opt(m.denseUnits, (v) => int(v, "model.denseUnits", 0)),
      batchNorm: opt(m.batchNorm, (v) => bool(v, "model.batchNorm")),
      seed: opt(m.seed, (v) => int(v, "model.seed", 0)),
    };
  } else {
    return fail("model.kind", 'must be "mlp" or "cnn"', m.kind);
  }

  const t = c.training === undefined ? {} : obj(c.training, "training");
  known(t, "training", ["epochs", "batchSize", "learningRate", "momentum", "patience", "trainable"]);
  let trainable: TrainableLayers = TRAINING_DEFAULTS.trainable;
  if (t.trainable !== undefined) {
    if (t.trainable === "all") trainable = "all";
    else {
      const tr = obj(t.trainable, "training.trainable");
      trainable = { lastLayers: int(tr.lastLayers, "training.trainable.lastLayers", 1) };
    }
  }
  const training: ParticipantTrainingSpec = {
    epochs: opt(t.epochs, (v) => int(v, "training.epochs", 1)) ?? TRAINING_DEFAULTS.epochs,
    batchSize: opt(t.batchSize, (v) => int(v, "training.batchSize", 1)) ?? TRAINING_DEFAULTS.batchSize,
    learningRate: opt(t.learningRate, (v) => num(v, "training.learningRate", (x) => x > 0 && Number.isFinite(x), "must be a number > 0")) ?? TRAINING_DEFAULTS.learningRate,
    momentum: opt(t.momentum, (v) => num(v, "training.momentum", (x) => x >= 0 && x < 1, "must be a number in [0, 1)")) ?? TRAINING_DEFAULTS.momentum,
    patience: opt(t.patience, (v) => int(v, "training.patience", 0)) ?? TRAINING_DEFAULTS.patience,
    trainable,
  };
  const fraction = (v: unknown, field: string): number => num(v, field, (x) => x >= 0 && x < 1, "must be a number in [0, 1)");
  return {
    id: str(c.id, "id"),
    dataset: str(c.dataset, "dataset"),
    partition,
    participantIndex,
    numParticipants,
    seed: int(c.seed, "seed", 0),
    limit: opt(c.limit, (v) => int(v, "limit", 1)),
    validationFraction: opt(c.validationFraction, (v) => fraction(v, "validationFraction")),
    testFraction: opt(c.testFraction, (v) => fraction(v, "testFraction")),
    model,
    training,
    personalisation: opt(c.personalisation, (v) => parsePersonalisation(v, `${source}: field "personalisation"`)),
  };
}

function parsePartition(
  p: Json,
  fail: (field: string, what: string, got: unknown) => never,
  num: (v: unknown, field: string, ok: (x: number) => boolean, what: string) => number,
  int: (v: unknown, field: string, min: number) => number,
): PartitionSpec {
  switch (p.kind) {
    case "iid":
      return { kind: "iid" };
    case "dirichlet":
      return { kind: "dirichlet", alpha: num(p.alpha, "partition.alpha", (x) => x > 0, "must be a number > 0"), minSize: p.minSize === undefined ? undefined : int(p.minSize, "partition.minSize", 0) };
    case "shard":
      return { kind: "shard", shardsPerParticipant: int(p.shardsPerParticipant, "partition.shardsPerParticipant", 1) };
    case "quantity":
      return { kind: "quantity", sigma: p.sigma === undefined ? undefined : num(p.sigma, "partition.sigma", (x) => x > 0, "must be a number > 0") };
    default:
      return fail("partition.kind", 'must be "iid", "dirichlet", "shard" or "quantity"', p.kind);
  }
}

/** Read and check a participant config file. */
export function readParticipantConfig(path: string): ParticipantConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`participant config ${path}: cannot read it (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`participant config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseParticipantConfig(parsed, `participant config ${path}`);
}
