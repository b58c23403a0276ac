/**
 * Turn one participant's samples into its train / validation / test splits, stratified by label
 * (each split keeps the participant's label mix). The validation split feeds early stopping.
 */
import { Dataset, ParticipantData, subsetDataset } from "./dataset";
import { stratifiedSplit } from "./stratifiedSplit";
import { Rng } from "../util/rng";

/** Options of `splitParticipant`. */
export interface SplitParticipantOptions {
  /** Share of the samples for validation, in [0, 1) (default 0.1). At least one sample when > 0. */
  readonly validationFraction?: number;
  /** Share of the samples for the local test split, in [0, 1) (default 0.2). At least one sample when > 0. */
  readonly testFraction?: number;
  /** Seed of the split. */
  readonly seed: number;
  /** Name prefix of the three datasets (default `${ds.name}/participant`). */
  readonly name?: string;
}

/** Split the samples `indices` of `ds` into a participant's train, validation and test datasets. */
export function splitParticipant(ds: Dataset, indices: ArrayLike<number>, options: SplitParticipantOptions): ParticipantData {
  const fn = "splitParticipant";
  const vf = options.validationFraction ?? 0.1;
  const tf = options.testFraction ?? 0.2;
  if (!(vf >= 0 && vf < 1)) throw new Error(`${fn}: validationFraction must be in [0, 1), got ${vf}`);
  if (!(tf >= 0 && tf < 1)) throw new Error(`${fn}: testFraction must be in [0, 1), got ${tf}`);
  if (!(vf + tf < 1)) throw new Error(`${fn}: validationFraction + testFraction must be < 1, got ${vf} + ${tf}`);
  if (!Number.isFinite(options.seed)) throw new Error(`${fn}: seed must be a finite number, got ${options.seed}`);
  const name = options.name ?? `${ds.name}/participant`;
  const n = indices.length;
  const nVal = vf > 0 ? Math.max(1, Math.round(n * vf)) : 0;
  const nTest = tf > 0 ? Math.max(1, Math.round(n * tf)) : 0;
  if (n - nVal - nTest < 1) {
    throw new Error(`${fn}(${name}): ${n} samples are too few for ${nVal} validation + ${nTest} test + at least 1 training sample`);
  }
  const [train, validation, test] = stratifiedSplit(ds.y, indices, [n - nVal - nTest, nVal, nTest], new Rng(options.seed));
  return {
    train: subsetDataset(ds, train, `${name}/train`),
    validation: subsetDataset(ds, validation, `${name}/validation`),
    test: subsetDataset(ds, test, `${name}/test`),
  };
}

/** Options of `holdOutValidation`. */
export interface HoldOutValidationOptions {
  /** Share of the training samples kept for validation, in [0, 1); at least one sample when > 0. */
  readonly validationFraction: number;
  /** Seed of the stratified split. */
  readonly seed: number;
  /** Name prefix of the three datasets (`${name}/train`, …). */
  readonly name: string;
}

/**
 * A participant that owns a whole dataset: its training file split into train / validation
 * (stratified by label), its own test file as the test split.
 */
export function holdOutValidation(train: Dataset, test: Dataset, options: HoldOutValidationOptions): ParticipantData {
  const { validationFraction: vf, name } = options;
  if (!(vf >= 0 && vf < 1)) throw new Error(`holdOutValidation(${name}): validationFraction must be in [0, 1), got ${vf}`);
  const n = train.y.length;
  const nVal = vf > 0 ? Math.max(1, Math.round(n * vf)) : 0;
  if (n - nVal < 1) throw new Error(`holdOutValidation(${name}): ${n} training samples are too few to keep ${nVal} for validation`);
  const all = Array.from({ length: n }, (_, k) => k);
  const [tr, va] = stratifiedSplit(train.y, all, [n - nVal, nVal], new Rng(options.seed));
  return {
    train: subsetDataset(train, tr, `${name}/train`),
    validation: subsetDataset(train, va, `${name}/validation`),
    test: { ...test, name: `${name}/test` },
  };
}
