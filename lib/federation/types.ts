/**
 * The vocabulary shared by the round loop and every strategy (after Flower's Strategy:
 * configure the round → aggregate the fits → evaluate). The loop knows only these types.
 */
import type { ModelWeights } from "../model/weights";

/** What a participant is told to do in one round of local training. */
export interface FitConfig {
  /** Local epochs over the participant's training split. */
  readonly epochs: number;
  /** Mini-batch size, in samples. */
  readonly batchSize: number;
  /** SGD learning rate. */
  readonly learningRate: number;
  /** SGD momentum (0 = plain SGD). */
  readonly momentum: number;
  /** FedProx proximal coefficient μ: adds μ/2·‖θ − θ_global‖² to the local loss; 0 disables it. */
  readonly proximalMu: number;
}

/** One participant's answer to a fit request. */
export interface FitUpdate {
  /** Who sent it. */
  readonly participantId: string;
  /** The locally trained weights (full model, same order and shapes as the global weights). */
  readonly weights: ModelWeights;
  /** Number of training examples behind the update (|Dᵢ|), the FedAvg weight. */
  readonly numExamples: number;
  /** Local metrics, e.g. { trainLoss, valLoss, epochs }. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** A participant that was asked to fit but did not deliver a usable update. */
export interface FitFailure {
  readonly participantId: string;
  readonly round: number;
  /** Why, in a sentence: "threw: …", "missed the deadline", "update rejected: NaN in dense/kernel". */
  readonly reason: string;
}

/** JSON-serialisable strategy state (e.g. FedAdam's moments), stored in checkpoints. */
export type StrategyState = { readonly [key: string]: number | string | boolean | number[] | StrategyState | null };

/**
 * An aggregation method. Implementations: FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad,
 * FedMedian, FedTrimmedAvg, Krum. The round loop calls `configureFit`, trains the sampled
 * participants, then `aggregateFit`; it knows nothing else about the method.
 */
export interface Strategy {
  /** Display name, e.g. "FedAvg" or "FedProx(mu=0.01)". */
  readonly name: string;
  /** The local-training config for `round` (1-based), given the run's base config. */
  configureFit(round: number, base: FitConfig): FitConfig;
  /** The next global weights from this round's updates. `current` is the global model the round started from. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): ModelWeights;
  /** Server-side state for checkpoints ({} for stateless methods). */
  getState(): StrategyState;
  /** Restore what `getState` returned. */
  setState(state: StrategyState): void;
}
