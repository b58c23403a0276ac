/**
 * FedMedian — coordinate-wise median of the participants' models (Yin et al. 2018,
 * "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates",
 * https://arxiv.org/abs/1803.01498). Robust to a minority of arbitrary (Byzantine) updates;
 * ignores numExamples, as Flower's fedmedian.py.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { coordinateMedian } from "../aggregate";
import { BaseStrategyOptions, checkRound, checkRoundInputs } from "./common";

/** Options for FedMedian. */
export type FedMedianOptions = BaseStrategyOptions;

/** Coordinate-wise median aggregation. */
export class FedMedian implements Strategy {
  readonly name = "FedMedian";
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;

  /** Build a FedMedian strategy. */
  constructor(options: FedMedianOptions = {}) {
    this.acceptFailures = options.acceptFailures ?? true;
  }

  /** The base config, unchanged. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, base);
  }

  /** Coordinate-wise median of the updates. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    return { weights: coordinateMedian(updates), metrics: {} };
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
