/**
 * FedAvgM — Federated Averaging with server momentum (Hsu, Qi & Brown 2019, "Measuring the Effects
 * of Non-Identical Data Distribution for Federated Visual Classification",
 * https://arxiv.org/abs/1909.06335). As Flower's fedavgm.py (PyTorch SGD convention, no Nesterov):
 *   g = θ_current − avg (a pseudo-gradient: the negative of the averaged update)
 *   m ← β·m + g        (m starts at 0, so the first round's m = g)
 *   θ ← θ_current − η·m
 * With η = 1 and β = 0 this is FedAvg.
 */
import type { ModelWeights } from "../../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../types";
import { sameInstructions } from "../types";
import { weightedAverage } from "../aggregate";
import {
  BaseStrategyOptions,
  Moments,
  checkMomentsLayout,
  checkNumber,
  checkRound,
  checkRoundInputs,
  momentsFromState,
  momentsToState,
  tensorLike,
  zeroMoments,
} from "./common";

/** Options for FedAvgM. */
export interface FedAvgMOptions extends BaseStrategyOptions {
  /** Server learning rate η > 0. Default 1. */
  readonly serverLearningRate?: number;
  /** Server momentum β in [0, 1). Default 0.9 (Flower's default is 0, i.e. plain FedAvg). */
  readonly serverMomentum?: number;
}

/** FedAvg followed by an SGD-with-momentum step on the server. */
export class FedAvgM implements Strategy {
  /** Server learning rate η. */
  readonly serverLearningRate: number;
  /** Server momentum β. */
  readonly serverMomentum: number;
  /** Whether rounds with failures are aggregated. */
  readonly acceptFailures: boolean;
  private momentum: Moments | null = null;
  private momentumNames: string[] = [];

  /** Build a FedAvgM strategy; see FedAvgMOptions for the defaults. */
  constructor(options: FedAvgMOptions = {}) {
    this.serverLearningRate = checkNumber("FedAvgM", "serverLearningRate", options.serverLearningRate ?? 1, {
      min: 0,
      minExclusive: true,
    });
    this.serverMomentum = checkNumber("FedAvgM", "serverMomentum", options.serverMomentum ?? 0.9, {
      min: 0,
      max: 1,
      maxExclusive: true,
    });
    this.acceptFailures = options.acceptFailures ?? true;
  }

  /** E.g. "FedAvgM(lr=1, momentum=0.9)". */
  get name(): string {
    return `FedAvgM(lr=${this.serverLearningRate}, momentum=${this.serverMomentum})`;
  }

  /** The base config, unchanged. */
  configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, base);
  }

  /** Weighted average, then one server momentum step from `current`. */
  aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    checkRoundInputs(this.name, round, current, updates, failures, this.acceptFailures);
    const avg = weightedAverage(updates);
    if (this.momentum === null) {
      this.momentum = zeroMoments(current);
      this.momentumNames = current.map((t) => t.name);
    }
    checkMomentsLayout(this.name, this.momentumNames, this.momentum, current);
    const beta = this.serverMomentum;
    const lr = this.serverLearningRate;
    const weights = current.map((t, v) => {
      const m = (this.momentum as Moments)[v];
      const x = t.values;
      const a = avg[v].values;
      const out = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        m[k] = beta * m[k] + (x[k] - a[k]);
        out[k] = x[k] - lr * m[k];
      }
      return tensorLike(t, out);
    });
    return { weights, metrics: {} };
  }

  /** { momentum: {variable: number[]} | null }. */
  getState(): StrategyState {
    return { momentum: momentsToState(this.name, this.momentumNames, this.momentum) };
  }

  /** Restore the momentum buffer. */
  setState(state: StrategyState): void {
    const restored = momentsFromState(this.name, "momentum", state.momentum);
    this.momentum = restored ? restored.m : null;
    this.momentumNames = restored ? restored.names : [];
  }
}
