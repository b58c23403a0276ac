/**
 * A virtual participant: an id, its local data, an optional device profile and its personal
 * state (plain weights). It owns no tensors: training and evaluation run on a shared `Trainer`,
 * so thousands of participants fit in one process, and a worker pool can later run the same
 * calls with the same plain inputs and outputs.
 */
import type { Dataset, ParticipantData } from "../data/dataset";
import { datasetSize } from "../data/dataset";
import { participantIds } from "../data/makeParticipants";
import type { EpochRecord, Evaluation, Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import type { FitUpdate } from "./types";
import type { DeviceProfile } from "./heterogeneity";
import { checkDeviceProfile } from "./heterogeneity";
import { NoPersonalisation } from "./personalisation/noPersonalisation";
import type { ConfigRecord } from "./types";
import { clipLocalWeights, clipNormIn, NORM_BIT_METRIC } from "./updateClipping";
import type { LocalTrainingConfig, Personalisation, PersonalState } from "./personalisation/personalisation";

/** Options for `new Participant`. */
export interface ParticipantOptions {
  /** Unique id, e.g. "p03". */
  readonly id: string;
  /** Its train/validation/test splits. */
  readonly data: ParticipantData;
  /** The shared model it trains and evaluates on. */
  readonly trainer: Trainer;
  /** Simulated device (for heterogeneity); default none (infinitely fast, never drops out). */
  readonly profile?: DeviceProfile;
}

/** One participant's local config for a round: the local-training config, the seed to use and the strategy's open record. */
export interface ParticipantFitConfig extends LocalTrainingConfig {
  /** Seed of this participant's work this round. */
  readonly seed: number;
  /** The fit instructions' open record (e.g. `clipNorm` asks for a clipped update); default {}. */
  readonly record?: ConfigRecord;
}

/** Which split to evaluate on. */
export type Split = "train" | "validation" | "test";

/** A federated participant with local data and personal state. */
export class Participant {
  /** Unique id. */
  readonly id: string;
  /** Local splits. */
  readonly data: ParticipantData;
  /** Simulated device, if any. */
  readonly profile: DeviceProfile | undefined;
  /** The shared trainer. */
  readonly trainer: Trainer;
  /** Personal state kept between rounds (plain weights). */
  state: PersonalState = {};

  /** Build a participant; checks that it has training data and a sensible profile. */
  constructor(options: ParticipantOptions) {
    if (typeof options.id !== "string" || options.id.length === 0) throw new Error(`Participant: id must be a non-empty string, got "${String(options.id)}"`);
    if (datasetSize(options.data.train) === 0) throw new Error(`Participant ${options.id}: training split is empty`);
    if (options.profile) checkDeviceProfile(options.profile, `participant ${options.id}`);
    this.id = options.id;
    this.data = options.data;
    this.trainer = options.trainer;
    this.profile = options.profile;
  }

  /** |Dᵢ|, the number of training examples (the FedAvg weight). */
  get numExamples(): number {
    return datasetSize(this.data.train);
  }

  /**
   * Train from the global weights with `personalisation` (default: none), keep the new personal
   * state, return the update. When the round's record carries a clip norm (client-side DP, see
   * updateClipping.ts), the update θ − θ_global sent is clipped to it and `metrics.dpNormBit` reports
   * whether it was already within the bound (adaptive clipping needs that bit); the personal
   * state keeps the unclipped training result.
   */
  fit(globalWeights: ModelWeights, config: ParticipantFitConfig, personalisation: Personalisation = new NoPersonalisation()): FitUpdate {
    const { update, newState } = this.train(globalWeights, config, personalisation);
    this.state = newState;
    return update;
  }

  /** As `fit`, but changes nothing: returns the update, the new personal state and the method's epoch records if any (what executors and phase 1 call). */
  train(
    globalWeights: ModelWeights,
    config: ParticipantFitConfig,
    personalisation: Personalisation = new NoPersonalisation(),
  ): { update: FitUpdate; newState: PersonalState; history?: readonly EpochRecord[] } {
    const out = personalisation.fit({ trainer: this.trainer, data: this.data, global: globalWeights, state: this.state, config, seed: config.seed });
    return { update: updateToSend(this.id, this.numExamples, globalWeights, config, out), newState: out.state, history: out.history };
  }

  /** This participant's personal model under `personalisation`, given the current global weights. */
  personalWeights(globalWeights: ModelWeights, personalisation: Personalisation, seed: number): ModelWeights {
    const out = personalisation.personalWeights({ trainer: this.trainer, data: this.data, global: globalWeights, state: this.state, seed });
    this.state = out.state;
    return out.weights;
  }

  /** Loss and accuracy of `weights` on one of its splits (default test). */
  evaluate(weights: ModelWeights, split: Split = "test"): Evaluation {
    const ds: Dataset = this.data[split];
    return this.trainer.evaluate(weights, ds);
  }
}

/**
 * The update a participant sends after local training: its weights, clipped to the round's clip
 * norm when the config carries one (client-side DP, with `metrics.dpNormBit`). Exported so that
 * executors running `personalisation.fit` elsewhere (worker threads) send exactly the same.
 */
export function updateToSend(
  participantId: string,
  numExamples: number,
  globalWeights: ModelWeights,
  config: ParticipantFitConfig,
  out: { readonly weights: ModelWeights; readonly metrics: Readonly<Record<string, number>> },
): FitUpdate {
  const clipNorm = clipNormIn(config.record);
  if (clipNorm === undefined) return { participantId, weights: out.weights, numExamples, metrics: out.metrics };
  const clipped = clipLocalWeights(out.weights, globalWeights, clipNorm);
  return { participantId, weights: clipped.weights, numExamples, metrics: { ...out.metrics, [NORM_BIT_METRIC]: clipped.normBit } };
}

/** Participants "p0", "p1", … (zero-padded) over `data`, sharing `trainer`, with optional profiles. */
export function createParticipants(
  trainer: Trainer,
  data: readonly ParticipantData[],
  options: { idPrefix?: string; profiles?: readonly DeviceProfile[] } = {},
): Participant[] {
  if (options.profiles && options.profiles.length !== data.length) {
    throw new Error(`createParticipants: ${options.profiles.length} profiles for ${data.length} participants`);
  }
  const ids = participantIds(data.length, options.idPrefix);
  return data.map((d, i) => new Participant({ id: ids[i], data: d, trainer, profile: options.profiles?.[i] }));
}
