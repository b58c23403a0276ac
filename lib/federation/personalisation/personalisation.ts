/**
 * The personalisation interface: how a participant turns the global model into (a) the update it
 * sends and (b) its own personal model. The round loop knows only this interface; each method
 * (FedAvg+FT, FedPer, FedRep, Ditto, FedBN, local-only) is one class in its own file.
 */
import type { ParticipantData } from "../../data/dataset";
import type { ModelWeights } from "../../model/weights";
import type { EarlyStopping, EpochRecord, Trainer, TrainOptions, TrainResult } from "../../model/trainer";
import type { TrainableLayers } from "../../model/freeze";
import type { FitConfig } from "../types";
import type { PersonalisationSpec } from "./personalisationSpec";

/** What a participant keeps between rounds: plain weights only, so it can live anywhere (worker, checkpoint). */
export interface PersonalState {
  /** The participant's own model (full weights; which parts are personal depends on the method). */
  readonly weights?: ModelWeights;
}

/** A round's local-training config: the strategy's FitConfig plus what layers train and when to stop. */
export interface LocalTrainingConfig extends FitConfig {
  /** Which layers train; default: the model's current flags. */
  readonly trainable?: TrainableLayers;
  /** Early stopping on the participant's validation split. */
  readonly earlyStopping?: EarlyStopping;
  /** Cap on optimiser steps (partial work under a deadline). */
  readonly maxSteps?: number;
  /** Use the frozen-feature cache when possible; default true. */
  readonly cacheFrozenFeatures?: boolean;
}

/** Inputs shared by `fit` and `personalWeights`. */
export interface PersonalisationContext {
  /** The shared model to train on. */
  readonly trainer: Trainer;
  /** The participant's splits. */
  readonly data: ParticipantData;
  /** The current global weights. */
  readonly global: ModelWeights;
  /** The participant's state from earlier rounds ({} at first). */
  readonly state: PersonalState;
  /** Seed for every random choice of this call. */
  readonly seed: number;
}

/** Inputs of `fit`: the context plus this round's local config. */
export interface PersonalisationFitInput extends PersonalisationContext {
  /** This round's local-training config. */
  readonly config: LocalTrainingConfig;
}

/** What `fit` returns. */
export interface PersonalisationFitOutput {
  /** Full weights to send (parts the server must not learn are copies of the global ones). */
  readonly weights: ModelWeights;
  /** Numbers for the history (trainLoss, valLoss, epochs, steps, samples, …). */
  readonly metrics: Readonly<Record<string, number>>;
  /** The participant's new state. */
  readonly state: PersonalState;
  /** Per-epoch losses of the training whose result is kept (for learning curves), when the method has one. */
  readonly history?: readonly EpochRecord[];
}

/** What `personalWeights` returns. */
export interface PersonalWeightsOutput {
  /** The participant's personal model. */
  readonly weights: ModelWeights;
  /** Its state afterwards (unchanged for most methods). */
  readonly state: PersonalState;
}

/** Which of a method's models are meaningful to evaluate (with `evaluation.models: "used"` the loop evaluates only these). */
export interface EvaluatedModels {
  /** The global model is one a participant would use (false when parts of it never train, e.g. FedPer's head). */
  readonly global: boolean;
  /** The personal models differ from the global one (false for plain FedAvg, whose personal rows are copies). */
  readonly personal: boolean;
}

/** A personalisation method. */
export interface Personalisation {
  /** Display name, e.g. "FedPer(head=1)". */
  readonly name: string;
  /** False when the personal model is simply the global one (plain FedAvg): the loop then copies global metrics. */
  readonly hasPersonalModel: boolean;
  /** Which of its models are meaningful; default both. */
  readonly evaluates?: EvaluatedModels;
  /** Per weight tensor (stable model order): true if it is sent to / received from the server. */
  sharedMask(trainer: Trainer): boolean[];
  /** One round of local work for a sampled participant. */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput;
  /** The participant's personal model now (may train, e.g. FedAvg+FT fine-tunes the global model). */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput;
  /** The method as data (kind + constructor options) that `personalisationFromSpec` rebuilds, e.g. in a worker thread. */
  toSpec(): PersonalisationSpec;
}

/** Trainer options from a local config, a seed and the global weights (for FedProx's proximal term). */
export function trainOptionsFrom(config: LocalTrainingConfig, seed: number, global: ModelWeights): TrainOptions {
  return {
    epochs: config.epochs,
    batchSize: config.batchSize,
    dropLastPartialBatch: config.dropLastPartialBatch,
    learningRate: config.learningRate,
    momentum: config.momentum,
    seed,
    trainable: config.trainable,
    earlyStopping: config.earlyStopping,
    maxSteps: config.maxSteps,
    cacheFrozenFeatures: config.cacheFrozenFeatures,
    proximal: config.proximalMu > 0 ? { mu: config.proximalMu, reference: global } : undefined,
  };
}

/** Train `start` on the participant's training split with its validation split for early stopping. */
export function trainLocally(ctx: PersonalisationContext, start: ModelWeights, options: TrainOptions): TrainResult {
  return ctx.trainer.train(start, ctx.data.train, ctx.data.validation, options);
}

/** The TrainMetrics of a result as a plain record, optionally with a name prefix ("personal."). */
export function metricsRecord(result: TrainResult, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(result.metrics)) out[prefix + k] = v;
  return out;
}

/** Sum of the `samples` entries of several metric records (the compute cost of a round). */
export function totalSamples(...records: Array<Readonly<Record<string, number>>>): number {
  return records.reduce((s, r) => s + Object.entries(r).filter(([k]) => k === "samples" || k.endsWith(".samples")).reduce((a, [, v]) => a + v, 0), 0);
}
