/** Plain federated training (FedAvg, FedProx, …): everything is shared, the personal model is the global one. */
import type { Trainer } from "../../model/trainer";
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
import type { PersonalisationSpec } from "./personalisationSpec";

/** No personalisation: train the global model locally, send it all, evaluate the global model. */
export class NoPersonalisation implements Personalisation {
  /** "global". */
  readonly name = "global";
  /** The personal model is the global model. */
  readonly hasPersonalModel = false;
  /** Only the global model (the personal rows would be copies of it). */
  readonly evaluates = { global: true, personal: false };

  /** Everything is shared. */
  sharedMask(trainer: Trainer): boolean[] {
    return trainer.getWeights().map(() => true);
  }

  /** Local training from the global weights. */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    const r = trainLocally(input, input.global, trainOptionsFrom(input.config, input.seed, input.global));
    return { weights: r.weights, metrics: metricsRecord(r), state: input.state };
  }

  /** The global weights. */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput {
    return { weights: input.global, state: input.state };
  }

  /** No options. */
  toSpec(): PersonalisationSpec {
    return { kind: "NoPersonalisation", options: {} };
  }

  /** Rebuild from `toSpec()`. */
  static fromSpec(): NoPersonalisation {
    return new NoPersonalisation();
  }
}
