/**
 * FedAdam — Adam on the server (Reddi et al. 2021, "Adaptive Federated Optimization",
 * https://arxiv.org/abs/2003.00295). v ← β₂·v + (1 − β₂)·Δ². Defaults as Flower's fedadam.py:
 * η = 0.1, β₁ = 0.9, β₂ = 0.99, τ = 1e-9.
 * Bias correction (Kingma & Ba's α_t = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)) is on by default because Flower
 * applies it; Flower uses t = server_round + 1, we use t = number of server steps taken (1 on the
 * first aggregation), which is Adam's definition and survives rounds that were skipped.
 */
import { FedOpt, FedOptOptions } from "./fedOpt";

/** Options for FedAdam. */
export interface FedAdamOptions extends FedOptOptions {
  /** Scale η by √(1 − β₂ᵗ)/(1 − β₁ᵗ). Default true (as Flower); false gives the paper's Algorithm 2. */
  readonly biasCorrection?: boolean;
}

/** Adaptive federated optimisation with Adam's second moment. */
export class FedAdam extends FedOpt {
  /** Whether η is bias-corrected. */
  readonly biasCorrection: boolean;

  /** Build a FedAdam strategy; see FedAdamOptions for the defaults. */
  constructor(options: FedAdamOptions = {}) {
    super("FedAdam", options, { eta: 1e-1, beta1: 0.9, beta2: 0.99, tau: 1e-9 });
    this.biasCorrection = options.biasCorrection ?? true;
  }

  protected secondMoment(v: number, d: number): number {
    return this.params.beta2 * v + (1 - this.params.beta2) * d * d;
  }

  protected override stepSize(t: number): number {
    if (!this.biasCorrection) return this.params.eta;
    const { eta, beta1, beta2 } = this.params;
    return (eta * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t));
  }
}
