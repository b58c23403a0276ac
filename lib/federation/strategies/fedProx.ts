/**
 * FedProx (Li et al. 2020, "Federated Optimization in Heterogeneous Networks",
 * https://arxiv.org/abs/1812.06127). Server side it is FedAvg; the difference is on the
 * participants, which add the proximal term μ/2·‖θ − θ_global‖² to their local loss. This strategy
 * only tells them μ through `FitConfig.proximalMu`.
 */
import type { FitConfig, FitInstructions } from "../types";
import { sameInstructions } from "../types";
import { checkNumber, checkRound } from "./common";
import { FedAvg, FedAvgOptions } from "./fedAvg";

/** Options for FedProx. */
export interface FedProxOptions extends FedAvgOptions {
  /** Proximal coefficient μ ≥ 0 (the paper tries 0.001–1). Default 0.01. */
  readonly mu?: number;
}

/** FedAvg aggregation plus the proximal coefficient μ sent to every participant. */
export class FedProx extends FedAvg {
  /** The proximal coefficient μ. */
  readonly mu: number;

  /** Build a FedProx strategy; see FedProxOptions for the defaults. */
  constructor(options: FedProxOptions = {}) {
    super(options);
    this.mu = checkNumber("FedProx", "mu", options.mu ?? 0.01, { min: 0 });
  }

  /** E.g. "FedProx(mu=0.01)". */
  override get name(): string {
    return `FedProx(mu=${this.mu}${this.weighted ? "" : ", unweighted"})`;
  }

  /** The base config with `proximalMu = mu`. */
  override configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    checkRound(this.name, round);
    return sameInstructions(participants, { ...base, proximalMu: this.mu });
  }
}
