/**
 * The one set of local-training defaults. The round loop (`defaultFitConfig`), the experiment
 * schema's `training` section, phase 1 of `fedtune run`, the Flower participant config and the
 * personalisation methods' own training (FedAvg+FT's fine-tuning) all read them from here: the
 * document's fine-tuning settings, SGD with lr 0.001 and momentum 0.9, one local epoch per round,
 * mini-batches of 32 and no early stopping inside a round.
 */
import type { FitConfig } from "./types";

/** Local-training defaults: FitConfig's fields plus early stopping inside a round (patience in epochs, 0 = off). */
export interface LocalTrainingDefaults extends FitConfig {
  /** Early-stopping patience of a round's local training, in epochs; 0 turns it off. */
  readonly earlyStoppingPatience: number;
}

/** lr 0.001, momentum 0.9, 1 epoch, batch 32, no proximal term, no early stopping. */
export const LOCAL_TRAINING_DEFAULTS: LocalTrainingDefaults = Object.freeze({
  epochs: 1,
  batchSize: 32,
  learningRate: 0.001,
  momentum: 0.9,
  proximalMu: 0,
  earlyStoppingPatience: 0,
});

/** Phase 1 (each participant fine-tunes alone until early stopping): at most 30 epochs, patience 5 — also `fineTuneHead`'s defaults. */
export const LOCAL_PHASE_DEFAULTS = Object.freeze({ maxEpochs: 30, patience: 5 });
