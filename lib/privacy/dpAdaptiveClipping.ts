/**
 * DP federated averaging with adaptive clipping (Andrew, Thakkar, McMahan & Ramaswamy 2021,
 * "Differentially Private Learning with Adaptive Clipping", NeurIPS, https://arxiv.org/abs/1905.03871).
 * The clip norm tracks the γ-quantile of the update norms by a geometric step on a *noised*
 * count: b̄ = (Σ bᵢ + N(0, σ_b²))/n with bᵢ = 1[‖Δᵢ‖ ≤ C], then C ← C·exp(−η_C(b̄ − γ)).
 * Counting is a second Gaussian query, so the update noise uses z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2)
 * and the pair together has the overall multiplier z that the accountant uses (paper, Thm. 1).
 * Defaults as the paper / Flower: C₀ = 0.1, γ = 0.5, η_C = 0.2, σ_b = n/20.
 * Side "client": participants clip with the fit instructions' clipNorm and report bᵢ as metrics.dpNormBit.
 */
import type { Strategy, StrategyState } from "../federation/types";
import { DpStrategy, DpStrategyOptions, checkDpNumber } from "./dpStrategy";

/** Options for DpAdaptiveClipping. */
export interface DpAdaptiveClippingOptions extends DpStrategyOptions {
  /** Starting clip norm C₀ > 0. Default 0.1. */
  readonly initialClipNorm?: number;
  /** Target quantile γ in [0, 1] of update norms that should be unclipped. Default 0.5. */
  readonly targetQuantile?: number;
  /** Geometric learning rate η_C > 0. Default 0.2. */
  readonly clipNormLearningRate?: number;
  /** Std σ_b ≥ 0 of the noise on the unclipped count. Default n/20 (n = participants in the round). */
  readonly clippedCountStddev?: number;
}

/** Central DP whose clip norm follows a target quantile of the update norms. */
export class DpAdaptiveClipping extends DpStrategy {
  /** Target quantile γ. */
  readonly targetQuantile: number;
  /** Learning rate η_C. */
  readonly clipNormLearningRate: number;
  /** Fixed σ_b, or undefined for n/20. */
  readonly clippedCountStddev: number | undefined;
  private clipNorm: number;
  private lastCountStddev = 0;

  /** Wrap `inner` (e.g. `new DpAdaptiveClipping(new FedAvg(), {…})`); see DpAdaptiveClippingOptions for the defaults. */
  constructor(inner: Strategy, options: DpAdaptiveClippingOptions) {
    super("DpAdaptiveClipping", inner, options);
    const o = "DpAdaptiveClipping";
    this.clipNorm = checkDpNumber(o, "initialClipNorm", options.initialClipNorm ?? 0.1, (v) => Number.isFinite(v) && v > 0, "> 0 and finite");
    this.targetQuantile = checkDpNumber(o, "targetQuantile", options.targetQuantile ?? 0.5, (v) => v >= 0 && v <= 1, "in [0, 1]");
    this.clipNormLearningRate = checkDpNumber(o, "clipNormLearningRate", options.clipNormLearningRate ?? 0.2, (v) => Number.isFinite(v) && v > 0, "> 0 and finite");
    this.clippedCountStddev =
      options.clippedCountStddev === undefined
        ? undefined
        : checkDpNumber(o, "clippedCountStddev", options.clippedCountStddev, (v) => Number.isFinite(v) && v >= 0, "≥ 0 and finite");
    if (this.clippedCountStddev !== undefined) this.effectiveNoise(this.clippedCountStddev);
  }

  /** E.g. "DpAdaptiveClipping(FedAvg, z=1, γ=0.5, server)". */
  override get name(): string {
    return `DpAdaptiveClipping(${this.inner.name}, z=${this.noiseMultiplier}, γ=${this.targetQuantile}, ${this.side})`;
  }

  /** The clip norm the next round will use. */
  currentClipNorm(): number {
    return this.clipNorm;
  }

  /** z_Δ for a given σ_b (throws if σ_b is too small for z). */
  private effectiveNoise(countStddev: number): number {
    const z = this.noiseMultiplier;
    if (z === 0) return 0;
    const rest = z ** -2 - (2 * countStddev) ** -2;
    if (!(rest > 0)) {
      throw new Error(
        `DpAdaptiveClipping: clippedCountStddev ${countStddev} is too small for noiseMultiplier ${z} ` +
          `(need 2·σ_b > z, i.e. σ_b > ${z / 2}); set clippedCountStddev explicitly`,
      );
    }
    return rest ** -0.5;
  }

  protected updateNoiseMultiplier(participants: number): number {
    this.lastCountStddev = this.clippedCountStddev ?? participants / 20;
    return this.effectiveNoise(this.lastCountStddev);
  }

  protected override checkNormBits(normBits: readonly number[]): void {
    normBits.forEach((b, i) => {
      if (b !== 0 && b !== 1) {
        throw new Error(
          `DpAdaptiveClipping: update #${i} has no valid metrics.dpNormBit (got ${b}); with side "client" ` +
            `participants must report it (see clipLocalWeights)`,
        );
      }
    });
  }

  protected afterRound(normBits: readonly number[]): void {
    const count = normBits.reduce((a, b) => a + b, 0);
    const noised = count + (this.lastCountStddev > 0 ? this.lastCountStddev * this.rng.normal() : 0);
    const fraction = noised / normBits.length;
    this.clipNorm *= Math.exp(-this.clipNormLearningRate * (fraction - this.targetQuantile));
  }

  protected extraState(): StrategyState {
    return { clipNorm: this.clipNorm };
  }

  protected restoreExtraState(state: StrategyState): void {
    const c = state.clipNorm;
    if (typeof c !== "number" || !(c > 0)) throw new Error(`${this.name}.setState: "clipNorm" must be a number > 0, got ${String(c)}`);
    this.clipNorm = c;
  }
}
