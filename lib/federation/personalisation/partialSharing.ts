/**
 * Partial sharing: some tensors stay on the participant (a personal head for FedPer, batch-norm
 * layers for FedBN), the rest is averaged by the server. The participant trains the merged model
 * (global shared parts + its own personal parts), sends the shared parts (personal parts are
 * replaced by the global copies, so the server learns nothing about them and they count for no
 * bytes) and keeps the whole model as its state.
 */
import { mergeWeights } from "../../model/weightOps";
import type { ModelWeights } from "../../model/weights";
import type { Trainer } from "../../model/trainer";
import {
  metricsRecord,
  Personalisation,
  PersonalisationContext,
  PersonalisationFitInput,
  PersonalisationFitOutput,
  PersonalWeightsOutput,
  PersonalState,
  trainLocally,
  trainOptionsFrom,
} from "./personalisation";
import type { PersonalisationSpec } from "./personalisationSpec";

/** Global shared parts with the participant's personal parts (if it has any yet). */
export function personalModel(global: ModelWeights, state: PersonalState, sharedMask: readonly boolean[]): ModelWeights {
  if (!state.weights) return global;
  return mergeWeights(global, state.weights, sharedMask.map((s) => !s));
}

/** Base class of methods that keep a fixed subset of tensors local. */
export abstract class PartialSharing implements Personalisation {
  /** Display name. */
  abstract readonly name: string;
  /** Each participant has its own personal parts. */
  readonly hasPersonalModel = true;
  /** The global model's personal parts never train on the server (FedPer's head is the initial one): only personal models are meaningful. */
  readonly evaluates = { global: false, personal: true };
  private cachedMask: { trainer: Trainer; mask: boolean[] } | undefined;

  /** True for tensors that are shared; computed once per trainer. */
  sharedMask(trainer: Trainer): boolean[] {
    if (!this.cachedMask || this.cachedMask.trainer !== trainer) {
      const mask = this.computeSharedMask(trainer);
      if (!mask.some((s) => s)) throw new Error(`${this.name}: no tensor of model ${trainer.model.name} would be shared`);
      if (mask.every((s) => s)) throw new Error(`${this.name}: no tensor of model ${trainer.model.name} would stay personal`);
      this.cachedMask = { trainer, mask };
    }
    return this.cachedMask.mask;
  }

  /** The method as data (see Personalisation.toSpec). */
  abstract toSpec(): PersonalisationSpec;

  /** The method's choice of shared tensors. */
  protected abstract computeSharedMask(trainer: Trainer): boolean[];

  /** Train the merged model; send its shared parts; keep all of it. */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    const mask = this.sharedMask(input.trainer);
    const start = personalModel(input.global, input.state, mask);
    const r = trainLocally(input, start, trainOptionsFrom(input.config, input.seed, input.global));
    const sent = mergeWeights(r.weights, input.global, mask.map((s) => !s));
    return { weights: sent, metrics: metricsRecord(r), state: { weights: r.weights } };
  }

  /** Global shared parts + own personal parts. */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput {
    return { weights: personalModel(input.global, input.state, this.sharedMask(input.trainer)), state: input.state };
  }
}
