/**
 * Ditto — fair and robust federated learning through personalisation (Li et al. 2021,
 * https://arxiv.org/abs/2012.04221): each participant trains the global model as usual (and sends
 * it) and, separately, its own personal model v with the pull λ/2·‖v − θ_global‖² towards the
 * global model. λ = 0 gives local training; large λ gives the global model.
 */
import type { Trainer } from "../../model/trainer";
import { NoPersonalisation } from "./noPersonalisation";
import {
  metricsRecord,
  Personalisation,
  PersonalisationContext,
  PersonalisationFitInput,
  PersonalisationFitOutput,
  PersonalWeightsOutput,
  trainLocally,
  trainOptionsFrom,
} from "./personalisation";
import { PersonalisationSpec, PersonalisationSpecOptions, specNumber } from "./personalisationSpec";

/** Options for Ditto. */
export interface DittoOptions {
  /** λ ≥ 0, the pull of the personal model towards the global one; default 0.1. Keep learningRate·λ < 1 or the pull overshoots and diverges. */
  readonly lambda?: number;
  /** Epochs of personal training per round; default the round's epochs. */
  readonly personalEpochs?: number;
}

/** Global model trained as in FedAvg, plus a regularised personal model per participant. */
export class Ditto implements Personalisation {
  /** λ. */
  readonly lambda: number;
  /** Each participant has its own model. */
  readonly hasPersonalModel = true;
  /** Both: the global model is a trained shared model, the personal models are each participant's own. */
  readonly evaluates = { global: true, personal: true };
  /** Personal-model epochs per round, or undefined for the round's epochs. */
  readonly personalEpochs: number | undefined;
  private readonly federated = new NoPersonalisation();

  /** See DittoOptions for the defaults. */
  constructor(options: DittoOptions = {}) {
    this.lambda = options.lambda ?? 0.1;
    this.personalEpochs = options.personalEpochs;
    if (!(Number.isFinite(this.lambda) && this.lambda >= 0)) throw new Error(`Ditto: lambda must be a finite number ≥ 0, got ${options.lambda}`);
    const e = this.personalEpochs;
    if (e !== undefined && !(Number.isInteger(e) && e >= 1)) throw new Error(`Ditto: personalEpochs must be an integer ≥ 1, got ${e}`);
  }

  /** "Ditto(λ=…)". */
  get name(): string {
    return `Ditto(λ=${this.lambda})`;
  }

  /** Everything is shared (the personal model is never sent). */
  sharedMask(trainer: Trainer): boolean[] {
    return this.federated.sharedMask(trainer);
  }

  /** Train and send the global model; then train the personal model towards the (round-start) global model. */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    const update = this.federated.fit(input);
    const start = input.state.weights ?? input.global;
    const options = trainOptionsFrom(input.config, input.seed + 1, input.global);
    const r = trainLocally(input, start, {
      ...options,
      epochs: this.personalEpochs ?? input.config.epochs,
      proximal: this.lambda > 0 ? { mu: this.lambda, reference: input.global } : undefined,
    });
    return { weights: update.weights, metrics: { ...update.metrics, ...metricsRecord(r, "personal.") }, state: { weights: r.weights } };
  }

  /** The personal model (the global one before the participant's first round). */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput {
    return { weights: input.state.weights ?? input.global, state: input.state };
  }

  /** λ and the personal epochs. */
  toSpec(): PersonalisationSpec {
    return { kind: "Ditto", options: { lambda: this.lambda, personalEpochs: this.personalEpochs } };
  }

  /** Rebuild from `toSpec()`'s options. */
  static fromSpec(options: PersonalisationSpecOptions): Ditto {
    return new Ditto({ lambda: specNumber(options, "lambda"), personalEpochs: specNumber(options, "personalEpochs") });
  }
}
