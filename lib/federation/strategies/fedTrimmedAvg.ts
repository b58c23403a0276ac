/**
 * FedTrimmedAvg — coordinate-wise trimmed mean (Yin et al. 2018, "Byzantine-Robust Distributed
 * Learning: Towards Optimal Statistical Rates", https://arxiv.org/abs/1803.01498). Per coordinate,
 * the ⌊β·k⌋ largest and smallest values are dropped and the rest averaged (unweighted), as
 * Flower's fedtrimmedavg.py.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { trimmedMean } from "../aggregate";
import { BaseStrategyOptions, checkNumber, checkRound, checkRoundInputs } from "./common";

/** Options for FedTrimmedAvg. */
export interface FedTrimmedAvgOptions extends BaseStrategyOptions {
  /** Fraction cut from each end, in [0, 0.5). Default 0.2 (as Flower). */
  readonly beta?: number;
}

/** Coordinate-wise trimmed-mean aggregation. */
export class FedTrimmedAvg implements Strategy {
  /** Fraction trimmed from each end. */
  readonly beta: number;
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;

  /** Build a FedTrimmedAvg strategy; see FedTrimmedAvgOptions for the defaults. */
  constructor(options: FedTrimmedAvgOptions = {}) {
    this.beta = checkNumber("FedTrimmedAvg", "beta", options.beta ?? 0.2, { min: 0, max: 0.5, maxExclusive: true });
    this.acceptFailures = options.acceptFailures ?? true;
  }

  /** E.g. "FedTrimmedAvg(beta=0.2)". */
  get name(): string {
    return `FedTrimmedAvg(beta=${this.beta})`;
  }

  /** The base config, unchanged. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, base);
  }

  /** Trimmed mean of the updates. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    return { weights: trimmedMean(updates, this.beta), metrics: {} };
  }

  /** Stateless: {}. */
  getState(): StrategyState {
    return {};
  }

  /** Stateless: nothing to restore. */
  setState(_state: StrategyState): void {
    // No server state.
  }
}
