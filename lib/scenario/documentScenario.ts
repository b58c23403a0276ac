/**
 * The scenario of the document fedtune started from: a network pretrained centrally on public data,
 * then three participants holding *different* datasets — MNIST digits, Fashion-MNIST clothes and
 * the UCI 8×8 handwritten digits (upscaled to 28×28, a domain shift) — each replacing the last layer
 * with its own 10-class head, fine-tuning with SGD (lr 0.001, momentum 0.9) and early stopping, and
 * jointly fine-tuning by weighted averaging.
 *
 * The shipped body never saw the participants' tasks: it is pretrained on rendered letters
 * (`publicPretrainingData`). The earlier body, pretrained on other MNIST and Fashion-MNIST images
 * (`overlapPretrainingData`, the *end* of those training files; participants use the *start*), is
 * kept to show what that overlap does.
 */
import * as path from "path";
import type { Dataset, ParticipantData } from "../data/dataset";
import { subsetDataset } from "../data/dataset";
import { loadDataset } from "../data/loadDataset";
import { datasetParticipants } from "../data/makeParticipants";
import { stratifiedSplit } from "../data/stratifiedSplit";
import { deriveSeed, Rng } from "../util/rng";

/** The repository root (lib/scenario/../..). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Where `npm run pretrain` writes, and the notebooks and `npm start` read, the shipped body: pretrained on letters. */
export const PRETRAINED_CNN_DIR = path.join(REPO_ROOT, "models", "pretrained-cnn");

/**
 * The earlier body, pretrained on MNIST + Fashion-MNIST (the participants' own tasks, other images);
 * kept only so that notebook 02 can show what that overlap does (`npm run pretrain -- --overlap`).
 */
export const OVERLAP_PRETRAINED_CNN_DIR = path.join(REPO_ROOT, "models", "pretrained-cnn-overlap");

/** Options of `publicPretrainingData`. */
export interface PublicDataOptions {
  /** Training images, the first n of letters/train (default all 24,232). */
  readonly trainCount?: number;
  /** Validation images, the first n of letters/test (default all 4,316). */
  readonly validationCount?: number;
}

/**
 * The "large public dataset" of the shipped body: the 26 Latin letters rendered from 466 free fonts
 * (`letters`, see data/README.md) — images and classes that no participant holds, the way ImageNet is
 * not CIFAR-10. Validation is letters/test, whose font families are absent from letters/train.
 */
export function publicPretrainingData(options: PublicDataOptions = {}): { train: Dataset; validation: Dataset } {
  const train = loadDataset("letters", { split: "train" });
  const validation = loadDataset("letters", { split: "test" });
  const take = (ds: Dataset, n: number | undefined, field: string, name: string): Dataset => {
    const count = n ?? ds.y.length;
    if (!(Number.isInteger(count) && count > 0 && count <= ds.y.length)) {
      throw new Error(`publicPretrainingData: ${field} must be an integer in [1, ${ds.y.length}], got ${n}`);
    }
    return subsetDataset(ds, Array.from({ length: count }, (_, i) => i), name);
  };
  return {
    train: take(train, options.trainCount, "trainCount", "public/train (letters)"),
    validation: take(validation, options.validationCount, "validationCount", "public/validation (letters, unseen fonts)"),
  };
}

/** Options of `overlapPretrainingData`. */
export interface OverlapDataOptions {
  /** MNIST samples taken from the end of its training file (default 4000). */
  readonly mnistCount?: number;
  /** Fashion-MNIST samples taken from the end of its training file (default 4000). */
  readonly fashionCount?: number;
  /** Seed of the validation split. */
  readonly seed?: number;
  /** Share kept for validation (default 0.1). */
  readonly validationFraction?: number;
}

/**
 * The pretraining set of the earlier body: MNIST and Fashion-MNIST samples as one 20-class task
 * (digits 0–9, clothes 10–19) — other images of the participants' own tasks. Taken from the *end* of
 * the training files, the participants' data from the *start*, so no image is shared.
 */
export function overlapPretrainingData(options: OverlapDataOptions = {}): { train: Dataset; validation: Dataset } {
  const mnist = loadDataset("mnist", { split: "train" });
  const fashion = loadDataset("fashion-mnist", { split: "train" });
  const nm = options.mnistCount ?? 4000;
  const nf = options.fashionCount ?? 4000;
  for (const [name, ds, n] of [["mnist", mnist, nm], ["fashion-mnist", fashion, nf]] as const) {
    if (!(Number.isInteger(n) && n > 0 && n <= ds.y.length - PARTICIPANT_TRAIN_MAX)) {
      throw new Error(`overlapPretrainingData: ${name} count must be an integer in [1, ${ds.y.length - PARTICIPANT_TRAIN_MAX}], got ${n}`);
    }
  }
  const tail = (ds: Dataset, n: number): number[] => Array.from({ length: n }, (_, i) => ds.y.length - n + i);
  const a = subsetDataset(mnist, tail(mnist, nm));
  const b = subsetDataset(fashion, tail(fashion, nf));
  const len = a.x.length / a.y.length;
  const x = new Float32Array((nm + nf) * len);
  x.set(a.x, 0);
  x.set(b.x, a.x.length);
  const y = new Int32Array(nm + nf);
  y.set(a.y, 0);
  for (let i = 0; i < nf; i++) y[nm + i] = b.y[i] + 10;
  const all: Dataset = {
    name: "public (mnist + fashion-mnist)",
    x,
    y,
    sampleShape: a.sampleShape,
    numClasses: 20,
    classNames: [...mnist.classNames.map((c) => `digit ${c}`), ...fashion.classNames],
  };
  const n = y.length;
  const nVal = Math.round(n * (options.validationFraction ?? 0.1));
  const idx = Array.from({ length: n }, (_, i) => i);
  const [tr, va] = stratifiedSplit(y, idx, [n - nVal, nVal], new Rng(deriveSeed(options.seed ?? 0, "public-split")));
  return { train: subsetDataset(all, tr, "public/train"), validation: subsetDataset(all, va, "public/validation") };
}

/** Participants take at most this many samples from the start of a training file (disjoint from the public tail). */
export const PARTICIPANT_TRAIN_MAX = 2000;

/** A participant of the scenario: an id and its local splits. */
export interface ScenarioParticipant {
  readonly id: string;
  readonly data: ParticipantData;
}

/** Options of `documentParticipants`. */
export interface DocumentParticipantsOptions {
  /** Local training samples per participant (train + validation), at most 2000 (default 600: small, as in the document). */
  readonly trainSize?: number;
  /** Test samples per participant (default 500). */
  readonly testSize?: number;
  /** Share of the local training data kept for early stopping (default 0.2). */
  readonly validationFraction?: number;
  /** Seed of the validation split. */
  readonly seed?: number;
}

/** The three participants: "mnist", "fashion", "digits", each with its own dataset at 28×28. */
export function documentParticipants(options: DocumentParticipantsOptions = {}): ScenarioParticipant[] {
  const trainSize = options.trainSize ?? 600;
  const testSize = options.testSize ?? 500;
  const vf = options.validationFraction ?? 0.2;
  if (!(Number.isInteger(trainSize) && trainSize >= 10 && trainSize <= PARTICIPANT_TRAIN_MAX)) {
    throw new Error(`documentParticipants: trainSize must be an integer in [10, ${PARTICIPANT_TRAIN_MAX}], got ${trainSize}`);
  }
  if (!(vf > 0 && vf < 1)) throw new Error(`documentParticipants: validationFraction must be in (0, 1), got ${vf}`);
  const sources: Array<[string, string]> = [
    ["mnist", "mnist"],
    ["fashion", "fashion-mnist"],
    ["digits", "digits"],
  ];
  return datasetParticipants({
    sources: sources.map(([id, dataset]) => ({ id, dataset })),
    trainLimit: trainSize,
    testLimit: testSize,
    validationFraction: vf,
    resizeTo: [28, 28],
    seed: options.seed ?? 0,
  });
}
