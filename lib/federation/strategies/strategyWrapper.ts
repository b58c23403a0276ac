/**
 * The base of strategy wrappers (Flower's DifferentialPrivacy*(FedAvg(...)) pattern): a wrapper is
 * a Strategy that holds another one and forwards every member it does not change. DP clipping and
 * secure aggregation (lib/privacy) compose behaviour this way instead of subclassing the loop.
 */
import type { ModelWeights } from "../../model/weights";
import type {
  AggregateFitResult,
  EvaluateResult,
  FitConfig,
  FitFailure,
  FitInstructions,
  FitUpdate,
  RunInfo,
  Strategy,
  StrategyState,
} from "../types";
import { weightedEvaluation } from "../weightedEvaluation";

/** A strategy that delegates to `inner`; subclasses override what they change. */
export abstract class StrategyWrapper implements Strategy {
  /** The wrapped strategy. */
  readonly inner: Strategy;

  /** Wrap `inner`; `owner` names the wrapper in the error for a non-strategy. */
  protected constructor(owner: string, inner: Strategy) {
    if (inner === null || typeof inner !== "object" || typeof inner.aggregateFit !== "function" || typeof inner.configureFit !== "function") {
      throw new Error(`${owner}: the wrapped strategy must be a Strategy (e.g. new FedAvg()), got ${String(inner)}`);
    }
    this.inner = inner;
  }

  /** Display name, e.g. "DpFixedClipping(FedAvg, …)". */
  abstract get name(): string;

  /** False: a wrapper changes the aggregation unless it says otherwise (SecureAggregation keeps the weighted mean). */
  get weightedMean(): boolean {
    return false;
  }

  /** As the inner strategy. */
  get seesUpdates(): boolean {
    return this.inner.seesUpdates !== false;
  }

  /** Forwarded. */
  initialize(run: RunInfo): void {
    this.inner.initialize?.(run);
  }

  /** Forwarded. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    return this.inner.configureFit(round, base, participants);
  }

  /** Forwarded. */
  checkUpdate(update: FitUpdate, current: ModelWeights, round: number): string | undefined {
    return this.inner.checkUpdate?.(update, current, round);
  }

  /** Forwarded. */
  aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
    return this.inner.aggregateFit(round, current, updates, failures);
  }

  /** Forwarded (all participants if the inner strategy does not choose). */
  configureEvaluate(round: number, participants: readonly string[]): readonly string[] {
    return this.inner.configureEvaluate?.(round, participants) ?? participants;
  }

  /** Forwarded (the example-weighted means if the inner strategy has no rule of its own). */
  aggregateEvaluate(round: number, results: readonly EvaluateResult[]): Readonly<Record<string, number>> {
    return this.inner.aggregateEvaluate?.(round, results) ?? weightedEvaluation(results);
  }

  /** Forwarded. */
  evaluate(round: number, weights: ModelWeights): Readonly<Record<string, number>> | undefined {
    return this.inner.evaluate?.(round, weights);
  }

  /** Forwarded. */
  getState(): StrategyState {
    return this.inner.getState();
  }

  /** Forwarded. */
  setState(state: StrategyState): void {
    this.inner.setState(state);
  }
}
