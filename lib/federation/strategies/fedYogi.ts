/**
 * FedYogi — Yogi on the server (Reddi et al. 2021, "Adaptive Federated Optimization",
 * https://arxiv.org/abs/2003.00295). v ← v − (1 − β₂)·Δ²·sign(v − Δ²): v grows additively and
 * shrinks slowly, which is gentler than Adam when Δ² jumps. Defaults as Flower's fedyogi.py:
 * η = 0.01, β₁ = 0.9, β₂ = 0.99, τ = 1e-3 (v starts at 0, as Flower).
 */
import { FedOpt, FedOptOptions } from "./fedOpt";

/** Options for FedYogi. */
export type FedYogiOptions = FedOptOptions;

/** Adaptive federated optimisation with Yogi's second moment. */
export class FedYogi extends FedOpt {
  /** Build a FedYogi strategy; see FedOptOptions for the options. */
  constructor(options: FedYogiOptions = {}) {
    super("FedYogi", options, { eta: 1e-2, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  }

  protected secondMoment(v: number, d: number): number {
    const d2 = d * d;
    return v - (1 - this.params.beta2) * d2 * Math.sign(v - d2);
  }
}
