/**
 * FedAvg — Federated Averaging (McMahan et al. 2017, "Communication-Efficient Learning of Deep
 * Networks from Decentralized Data", https://arxiv.org/abs/1602.05629).
 * The next global model is the average of the participants' models, weighted by their number of
 * training examples (θ = Σ|Dᵢ|/|D|·θᵢ), or unweighted when `weighted` is false.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { unweightedAverage, weightedAverage } from "../aggregate";
import { BaseStrategyOptions, checkRound, checkRoundInputs } from "./common";

/** Options for FedAvg. */
export interface FedAvgOptions extends BaseStrategyOptions {
  /** Weight each participant by its number of examples (true, the paper) or count all equally. Default true. */
  readonly weighted?: boolean;
}

/** Federated Averaging: weighted (by data size) or plain mean of the participants' weights. */
export class FedAvg implements Strategy {
  /** Whether the average is weighted by numExamples. */
  readonly weighted: boolean;
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;

  /** Build a FedAvg strategy; see FedAvgOptions for the defaults. */
  constructor(options: FedAvgOptions = {}) {
    this.weighted = options.weighted ?? true;
    this.acceptFailures = options.acceptFailures ?? true;
    if (typeof this.weighted !== "boolean") throw new Error(`FedAvg: weighted must be a boolean, got ${String(options.weighted)}`);
  }

  /** Secure aggregation can compute this strategy blind when it is weighted. */
  get weightedMean(): boolean {
    return this.weighted;
  }

  /** "FedAvg" or "FedAvg(unweighted)". */
  get name(): string {
    return this.weighted ? "FedAvg" : "FedAvg(unweighted)";
  }

  /** The base config, unchanged. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, base);
  }

  /** (Weighted) average of the updates. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    return { weights: this.weighted ? weightedAverage(updates) : unweightedAverage(updates), metrics: {} };
  }

  /** Stateless: {}. */
  getState(): StrategyState {
    return {};
  }

  /** Stateless: nothing to restore. */
  setState(_state: StrategyState): void {
    // FedAvg keeps no server state.
  }
}
