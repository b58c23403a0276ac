/**
 * The config's local-training section as the numbers the loop and the Trainer take
 * (`batchSize: "full"` becomes `FULL_BATCH`).
 */
import { FULL_BATCH } from "../model/trainer";
import type { FitConfig } from "../federation/types";
import type { ExperimentConfig } from "./experimentConfig";

/** A config batch size as the Trainer's number ("full" = the whole training split). */
export function batchSizeOf(batchSize: number | "full"): number {
  return batchSize === "full" ? FULL_BATCH : batchSize;
}

/** The fit settings of each round from the config's training section. */
export function fitConfigOf(t: Pick<ExperimentConfig["training"], "epochs" | "batchSize" | "dropLastPartialBatch" | "learningRate" | "momentum">): Omit<FitConfig, "proximalMu"> {
  const base = { epochs: t.epochs, batchSize: batchSizeOf(t.batchSize), learningRate: t.learningRate, momentum: t.momentum };
  // Only when asked: the default leaves the settings (and so every recorded fingerprint) as they were.
  return t.dropLastPartialBatch ? { ...base, dropLastPartialBatch: true } : base;
}
