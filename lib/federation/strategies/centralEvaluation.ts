/**
 * Central evaluation (Flower's server-side `evaluate`): the server holds a test set of its own and
 * scores every global model on it, after round 0 and after each round. The per-participant figures
 * average the participants' own test splits (each its own distribution); this one is the global
 * model on one held-out set — the figure the FedAvg paper reports. A wrapper, so any strategy (and
 * any other wrapper) can have it: `new CentralEvaluation(new FedAvg(), { trainer, data })`.
 */
import type { Dataset } from "../../data/dataset";
import type { Trainer } from "../../model/trainer";
import type { ModelWeights } from "../../model/weights";
import type { Strategy } from "../types";
import { StrategyWrapper } from "./strategyWrapper";

/** Options of `CentralEvaluation`. */
export interface CentralEvaluationOptions {
  /** Evaluates the global weights (the run's trainer: same model). */
  readonly trainer: Trainer;
  /** The server's test set (never seen by a participant). */
  readonly data: Dataset;
  /** Also evaluate the global model on each participant's splits; default true (false: only centrally, e.g. when the participants hold no test split). */
  readonly participants?: boolean;
}

/** Server metrics it adds: `centralAccuracy`, `centralLoss`, `centralExamples`. */
export const CENTRAL_METRICS = ["centralAccuracy", "centralLoss", "centralExamples"] as const;

/** Wraps a strategy so that its `evaluate(round, weights)` scores the global model on a central test set. */
export class CentralEvaluation extends StrategyWrapper {
  private readonly trainer: Trainer;
  private readonly data: Dataset;
  private readonly participants: boolean;

  /** Check the options (an empty test set is an error naming the dataset). */
  constructor(inner: Strategy, options: CentralEvaluationOptions) {
    super("CentralEvaluation", inner);
    if (options === null || typeof options !== "object" || options.trainer === undefined || options.data === undefined) {
      throw new Error("CentralEvaluation: options must be { trainer, data }");
    }
    if (options.data.y.length === 0) throw new Error(`CentralEvaluation: the central test set "${options.data.name}" is empty`);
    this.trainer = options.trainer;
    this.data = options.data;
    this.participants = options.participants !== false;
  }

  /** The inner strategy's name: central evaluation changes what is measured, not how the server aggregates. */
  get name(): string {
    return this.inner.name;
  }

  /** As the inner strategy (evaluation does not change the aggregate). */
  override get weightedMean(): boolean {
    return this.inner.weightedMean === true;
  }

  /** Nobody when `participants` is false, else as the inner strategy. */
  override configureEvaluate(round: number, participants: readonly string[]): readonly string[] {
    return this.participants ? super.configureEvaluate(round, participants) : [];
  }

  /** The inner strategy's own central metrics, then centralAccuracy, centralLoss and centralExamples on this wrapper's test set. */
  override evaluate(round: number, weights: ModelWeights): Readonly<Record<string, number>> {
    const e = this.trainer.evaluate(weights, this.data);
    return { ...(this.inner.evaluate?.(round, weights) ?? {}), centralAccuracy: e.accuracy, centralLoss: e.loss, centralExamples: e.numExamples };
  }
}
