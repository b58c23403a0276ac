/**
 * DP federated averaging with a fixed clip norm (McMahan et al. 2018, "Learning Differentially
 * Private Recurrent Language Models", https://arxiv.org/abs/1710.06963; Flower's
 * DifferentialPrivacy{Server,Client}SideFixedClipping). Wraps any Strategy; see dpStrategy.ts
 * for what happens each round and why it differs slightly from Flower.
 */
import type { Strategy, StrategyState } from "../federation/types";
import { DpStrategy, DpStrategyOptions, checkDpNumber } from "./dpStrategy";

/** Options for DpFixedClipping. */
export interface DpFixedClippingOptions extends DpStrategyOptions {
  /** L2 clip norm C > 0 on each participant's update θᵢ − θ. */
  readonly clipNorm: number;
}

/** Central DP with a fixed clip norm C and noise std z·C/n. */
export class DpFixedClipping extends DpStrategy {
  /** The clip norm C. */
  readonly clipNorm: number;

  /** Wrap `inner` (e.g. `new DpFixedClipping(new FedAvg(), {…})`); see DpFixedClippingOptions. */
  constructor(inner: Strategy, options: DpFixedClippingOptions) {
    super("DpFixedClipping", inner, options);
    this.clipNorm = checkDpNumber("DpFixedClipping", "clipNorm", options.clipNorm, (v) => Number.isFinite(v) && v > 0, "> 0 and finite");
  }

  /** E.g. "DpFixedClipping(FedAvg, z=1, C=0.5, server)". */
  override get name(): string {
    return `DpFixedClipping(${this.inner.name}, z=${this.noiseMultiplier}, C=${this.clipNorm}, ${this.side})`;
  }

  /** The fixed C. */
  currentClipNorm(): number {
    return this.clipNorm;
  }

  protected updateNoiseMultiplier(_participants: number): number {
    return this.noiseMultiplier;
  }

  protected afterRound(_normBits: readonly number[]): void {
    // Nothing adapts.
  }

  protected extraState(): StrategyState {
    return {};
  }

  protected restoreExtraState(_state: StrategyState): void {
    // Nothing to restore.
  }
}
