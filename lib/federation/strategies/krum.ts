/**
 * Krum and multi-Krum (Blanchard et al. 2017, "Machine Learning with Adversaries: Byzantine
 * Tolerant Gradient Descent", NeurIPS, https://papers.nips.cc/paper/6617). Each update is scored
 * by the sum of squared distances to its n − f − 2 nearest neighbours; Krum keeps the best one,
 * multi-Krum (numToKeep > 0) the weighted average of the numToKeep best, as Flower's krum.py.
 * The guarantee needs n ≥ 2f + 3 participants; with fewer, Krum still runs but promises nothing.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { krum } from "../aggregate";
import { BaseStrategyOptions, checkNumber, checkRound, checkRoundInputs } from "./common";

/** Options for Krum. */
export interface KrumOptions extends BaseStrategyOptions {
  /** Assumed number of malicious participants f (integer ≥ 0). Default 0. */
  readonly numMalicious?: number;
  /** 0 = classic Krum (one update); m > 0 = multi-Krum average of the m best. Default 0. */
  readonly numToKeep?: number;
}

/** Byzantine-robust selection of the most central update(s). */
export class Krum implements Strategy {
  /** Assumed number of malicious participants. */
  readonly numMalicious: number;
  /** Updates kept (0 = classic Krum). */
  readonly numToKeep: number;
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;

  /** Build a Krum strategy; see KrumOptions for the defaults. */
  constructor(options: KrumOptions = {}) {
    this.numMalicious = checkNumber("Krum", "numMalicious", options.numMalicious ?? 0, { min: 0, integer: true });
    this.numToKeep = checkNumber("Krum", "numToKeep", options.numToKeep ?? 0, { min: 0, integer: true });
    this.acceptFailures = options.acceptFailures ?? true;
  }

  /** E.g. "Krum(f=1)" or "MultiKrum(f=1, m=3)". */
  get name(): string {
    return this.numToKeep > 0 ? `MultiKrum(f=${this.numMalicious}, m=${this.numToKeep})` : `Krum(f=${this.numMalicious})`;
  }

  /** The base config, unchanged. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, base);
  }

  /** The Krum / multi-Krum choice among the updates. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    if (this.numToKeep > updates.length) {
      throw new Error(`${this.name}: round ${round} has ${updates.length} updates, fewer than numToKeep = ${this.numToKeep}`);
    }
    return { weights: krum(updates, this.numMalicious, this.numToKeep), metrics: {} };
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
