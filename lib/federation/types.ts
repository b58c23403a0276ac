/**
 * The vocabulary shared by the round loop and every strategy (after Flower's Strategy:
 * configure the round → aggregate the fits → evaluate). The loop knows only these types.
 */
import type { ModelWeights } from "../model/weights";

/** What a participant is told to do in one round of local training. */
export interface FitConfig {
  /** Local epochs over the participant's training split. */
  readonly epochs: number;
  /** Mini-batch size, in samples; Infinity (`FULL_BATCH`) = the participant's whole training split. */
  readonly batchSize: number;
  /** Skip each epoch's last, smaller batch (PyTorch's `drop_last`); default false. */
  readonly dropLastPartialBatch?: boolean;
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

/** A value of an open config record (Flower's ConfigRecord scalars). */
export type ConfigValue = number | string | boolean;

/** An open config record: keys a method defines for itself (a clip norm, a proximal μ, …). */
export type ConfigRecord = Readonly<Record<string, ConfigValue>>;

/** What one participant is told to do in a round: the typed fit settings plus the method's own keys. */
export interface FitInstructions {
  /** Epochs, batch size, learning rate, momentum, proximal μ. */
  readonly settings: FitConfig;
  /** Open record read by the participant's local-fit path (e.g. `clipNorm`, see updateClipping.ts). */
  readonly record: ConfigRecord;
}

/** What a strategy returns from `aggregateFit`. */
export interface AggregateFitResult {
  /** The next global weights. */
  readonly weights: ModelWeights;
  /** The strategy's own numbers for this round (privacy budget, clip norm, …); they become server rows. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Updates the strategy received but could not use (e.g. lost during secure aggregation); recorded as failures. */
  readonly lost?: readonly FitFailure[];
}

/**
 * A strategy refuses a round it cannot aggregate safely (e.g. too few secure-aggregation
 * survivors). The loop treats it as a round without enough updates: "skip" keeps the global
 * model and still records `failures` and `metrics`; "fail" throws a message naming the round.
 */
export class AggregationRefused extends Error {
  /** Participants whose updates were lost on the way. */
  readonly failures: readonly FitFailure[];
  /** Server metrics to record even though the round did not aggregate. */
  readonly metrics: Readonly<Record<string, number>>;

  /** Build the refusal; `message` says why in a sentence. */
  constructor(message: string, failures: readonly FitFailure[] = [], metrics: Readonly<Record<string, number>> = {}) {
    super(message);
    this.name = "AggregationRefused";
    this.failures = failures.slice();
    this.metrics = { ...metrics };
  }
}

/** One participant's evaluation of a model on one of its splits. */
export interface EvaluateResult {
  /** Who evaluated. */
  readonly participantId: string;
  /** Loss on the test split. */
  readonly loss: number;
  /** Accuracy on the test split. */
  readonly accuracy: number;
  /** Test examples behind loss and accuracy (the weight of the mean). */
  readonly numExamples: number;
  /** Loss on the validation split (NaN if it is empty). */
  readonly valLoss: number;
  /** Accuracy on the validation split. */
  readonly valAccuracy: number;
  /** Validation examples. */
  readonly numValExamples: number;
}

/** What the loop tells a strategy about the run before round 1. */
export interface RunInfo {
  /** Every participant id, in order. */
  readonly participants: readonly string[];
  /** The run's seed (for the strategy's own simulated randomness, e.g. secure-aggregation dropouts). */
  readonly seed: number;
  /** Per weight tensor: true if the personalisation shares it with the server. */
  readonly sharedMask: readonly boolean[];
}

/** JSON-serialisable strategy state (e.g. FedAdam's moments), stored in checkpoints. */
export type StrategyState = { readonly [key: string]: number | string | boolean | number[] | StrategyState | null };

/**
 * An aggregation method, with Flower's contract. Implementations: FedAvg, FedProx, FedAvgM,
 * FedAdam, FedYogi, FedAdagrad, FedMedian, FedTrimmedAvg, Krum, and the wrappers DpFixedClipping,
 * DpAdaptiveClipping and SecureAggregation. The round loop calls these members and knows nothing
 * else about any method; optional members have the defaults their docs state.
 */
export interface Strategy {
  /** Display name, e.g. "FedAvg" or "FedProx(mu=0.01)". */
  readonly name: string;
  /** True if `aggregateFit` is exactly the example-weighted mean of the updates (what secure aggregation can compute blind). */
  readonly weightedMean?: boolean;
  /** False if the server must not look at individual updates (no per-update norms in the history). Default true. */
  readonly seesUpdates?: boolean;
  /** Called once by the loop before the first round (Flower's initialize); throw to refuse the run. */
  initialize?(run: RunInfo): void;
  /** Instructions for each of `participants` in `round` (1-based), from the run's base settings. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[];
  /** An extra check on each update before aggregation: a reason to reject it, or undefined. */
  checkUpdate?(update: FitUpdate, current: ModelWeights, round: number): string | undefined;
  /**
   * The next global weights and this round's metrics from the round's updates. `current` is the
   * global model the round started from; `failures` says who did not deliver and why.
   */
  aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult;
  /** Ids (of `participants`) that evaluate the global model after `round`; default all of them. */
  configureEvaluate?(round: number, participants: readonly string[]): readonly string[];
  /** Server metrics from the participants' evaluations; default example-weighted means (globalAccuracy, globalLoss, globalValLoss). */
  aggregateEvaluate?(round: number, results: readonly EvaluateResult[]): Readonly<Record<string, number>>;
  /** Server-side evaluation of `weights` on central data after `round` (0 = initial); undefined if there is none. */
  evaluate?(round: number, weights: ModelWeights): Readonly<Record<string, number>> | undefined;
  /** Server-side state for checkpoints ({} for stateless methods). */
  getState(): StrategyState;
  /** Restore what `getState` returned. */
  setState(state: StrategyState): void;
}

/** The same instructions for every participant (what most strategies send). */
export function sameInstructions(participants: readonly string[], settings: FitConfig, record: ConfigRecord = {}): FitInstructions[] {
  return participants.map(() => ({ settings, record }));
}
