/**
 * The config's local-training section as the numbers the loop and the Trainer take
 * (`batchSize: "full"` becomes `FULL_BATCH`): one mapping, read by the runner (each round's fit
 * settings and early stopping) and by a Flower node (its defaults, which a ServerApp's config
 * record may override).
 */
import { FULL_BATCH } from "../model/trainer";
import type { FitConfig } from "../federation/types";
import type { LocalTrainingConfig } from "../federation/personalisation/personalisation";
import type { ExperimentConfig } from "./experimentConfig";

/** The fields of the training section that say how a participant trains in a round. */
export type TrainingSection = Pick<ExperimentConfig["training"], "epochs" | "batchSize" | "dropLastPartialBatch" | "learningRate" | "momentum" | "earlyStoppingPatience">;

/** A config batch size as the Trainer's number ("full" = the whole training split). */
export function batchSizeOf(batchSize: number | "full"): number {
  return batchSize === "full" ? FULL_BATCH : batchSize;
}

/** The fit settings of each round from the config's training section. */
export function fitConfigOf(t: Omit<TrainingSection, "earlyStoppingPatience">): Omit<FitConfig, "proximalMu"> {
  const base = { epochs: t.epochs, batchSize: batchSizeOf(t.batchSize), learningRate: t.learningRate, momentum: t.momentum };
  // Only when asked: the default leaves the settings (and so every recorded fingerprint) as they were.
  return t.dropLastPartialBatch ? { ...base, dropLastPartialBatch: true } : base;
}

/** A round's local training from the training section: the fit settings, plus early stopping when `earlyStoppingPatience` > 0. */
export function localTrainingOf(t: TrainingSection): Omit<LocalTrainingConfig, "proximalMu"> {
  const fit = fitConfigOf(t);
  return t.earlyStoppingPatience > 0 ? { ...fit, earlyStopping: { patience: t.earlyStoppingPatience } } : fit;
}
