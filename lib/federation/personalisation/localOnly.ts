/**
 * Local-only baseline: every participant trains its own model from the initial (pretrained)
 * weights on its own data and never shares anything. The global model stays what it was (each
 * participant sends the global weights back unchanged, and nothing is counted as transferred).
 */
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

/** The no-federation baseline; use convergence scope "personal" with it. */
export class LocalOnly implements Personalisation {
  /** "local-only". */
  readonly name = "local-only";
  /** Each participant has its own model. */
  readonly hasPersonalModel = true;
  /** Nothing is shared, so the global model never trains: only the personal models are meaningful. */
  readonly evaluates = { global: false, personal: true };

  /** Nothing is shared. */
  sharedMask(trainer: Trainer): boolean[] {
    return trainer.getWeights().map(() => false);
  }

  /** Continue training the participant's own model (first time: from the global weights). */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    const start = input.state.weights ?? input.global;
    const r = trainLocally(input, start, { ...trainOptionsFrom(input.config, input.seed, input.global), proximal: undefined });
    return { weights: input.global, metrics: metricsRecord(r), state: { weights: r.weights }, history: r.history };
  }

  /** The participant's own model (the global one before its first round). */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput {
    return { weights: input.state.weights ?? input.global, state: input.state };
  }

  /** No options. */
  toSpec(): PersonalisationSpec {
    return { kind: "LocalOnly", options: {} };
  }

  /** Rebuild from `toSpec()`. */
  static fromSpec(): LocalOnly {
    return new LocalOnly();
  }
}
