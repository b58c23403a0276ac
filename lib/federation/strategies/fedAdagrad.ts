/**
 * FedAdagrad — Adagrad on the server (Reddi et al. 2021, "Adaptive Federated Optimization",
 * https://arxiv.org/abs/2003.00295). v ← v + Δ². Defaults as Flower's fedadagrad.py: η = 0.1,
 * τ = 1e-9 and β₁ = 0 (so m = Δ; Flower does not expose β₁ for Adagrad, we do).
 */
import { FedOpt, FedOptOptions } from "./fedOpt";

/** Options for FedAdagrad (beta2 is ignored). */
export type FedAdagradOptions = FedOptOptions;

/** Adaptive federated optimisation with Adagrad's accumulated second moment. */
export class FedAdagrad extends FedOpt {
  /** Build a FedAdagrad strategy; see FedOptOptions for the options. */
  constructor(options: FedAdagradOptions = {}) {
    super("FedAdagrad", options, { eta: 1e-1, beta1: 0, beta2: 0, tau: 1e-9 });
  }

  protected secondMoment(v: number, d: number): number {
    return v + d * d;
  }
}
