/**
 * Central evaluation as a strategy wrapper (Flower's server-side `evaluate`): the global model is
 * scored on one held-out test set after every round — the figure McMahan et al. 2017 report —
 * and, optionally, the participants' own evaluation is skipped (their splits may be empty).
 */
import type { Dataset } from "../data/dataset";
import type { Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import type { Strategy } from "../federation/types";
import { StrategyWrapper } from "../federation/strategies/strategyWrapper";

/** Options of `CentralEvaluation`. */
export interface CentralEvaluationOptions {
  /** The trainer whose model scores the weights. */
  readonly trainer: Trainer;
  /** The held-out test set (e.g. MNIST's test file). */
  readonly test: Dataset;
  /** Also evaluate the global model on each participant's splits; default true. */
  readonly participants?: boolean;
}

/** `inner` plus server metrics `centralAccuracy` and `centralLoss` on a held-out test set each round. */
export class CentralEvaluation extends StrategyWrapper {
  private readonly options: CentralEvaluationOptions;

  /** Wrap `inner`; throws naming the option when the test set is empty. */
  constructor(inner: Strategy, options: CentralEvaluationOptions) {
    super("CentralEvaluation", inner);
    if (!(options.test.y.length > 0)) throw new Error(`CentralEvaluation: test set "${options.test.name}" is empty`);
    this.options = options;
  }

  /** "<inner> + central test". */
  get name(): string {
    return `${this.inner.name} + central test`;
  }

  /** The inner strategy's mean is unchanged. */
  override get weightedMean(): boolean {
    return this.inner.weightedMean === true;
  }

  /** Nobody when `participants` is false, else as the inner strategy. */
  override configureEvaluate(round: number, participants: readonly string[]): readonly string[] {
    return this.options.participants === false ? [] : super.configureEvaluate(round, participants);
  }

  /** The inner strategy's central metrics plus `centralAccuracy` and `centralLoss`. */
  override evaluate(round: number, weights: ModelWeights): Readonly<Record<string, number>> {
    const e = this.options.trainer.evaluate(weights, this.options.test);
    return { ...(super.evaluate(round, weights) ?? {}), centralAccuracy: e.accuracy, centralLoss: e.loss };
  }
}
