/**
 * The machinery shared by the differential-privacy strategy wrappers (DpFixedClipping,
 * DpAdaptiveClipping): central DP for federated averaging after McMahan et al. 2018 ("Learning
 * Differentially Private Recurrent Language Models", https://arxiv.org/abs/1710.06963) and
 * Flower's DifferentialPrivacy{Server,Client}Side* wrappers.
 *
 * Each round: every update Δᵢ = θᵢ − θ is clipped to C (by the server, or already by the
 * participant for side "client" — the server re-clips anything that exceeds C, so the bound the
 * noise relies on holds even for a buggy or malicious participant); the clipped updates are
 * averaged *uniformly* (each participant's influence is at most C/n); Gaussian noise N(0, (zC/n)²)
 * is added to that average; the inner strategy then sees a single update θ + noisy mean and applies
 * its server rule (FedAvg: identity; FedAvgM/FedAdam/…: an optimiser step on the private
 * pseudo-gradient). Everything after the noise is post-processing, so the guarantee holds for any
 * inner strategy. Differences from Flower, on purpose: Flower passes the clipped updates to the
 * inner strategy and noises its output, which is not DP for weighted or adaptive inner rules and
 * calibrates the noise to the clip norm *after* the adaptive update; here the noise is calibrated
 * to the clip norm actually used. Robust inner rules (median, Krum) reduce to the identity.
 *
 * The guarantee is participant-level (ε, δ)-DP, accounted with the RDP accountant for the sampled
 * Gaussian mechanism with q = `samplingRate` (fraction of the population sampled per round, 1 if
 * everybody takes part) and one step per round. The noise comes from a seeded Rng: fine for a lab,
 * not for a deployment (use a CSPRNG there).
 */
import type { ModelWeights } from "../model/weights";
import type { AggregateFitResult, FitConfig, FitFailure, FitInstructions, FitUpdate, Strategy, StrategyState } from "../federation/types";
import { assertSameLayout } from "../federation/aggregate";
import { CLIP_NORM_KEY, NORM_BIT_METRIC, clipUpdate } from "../federation/updateClipping";
import { StrategyWrapper } from "../federation/strategies/strategyWrapper";
import { Rng } from "../util/rng";
import { RdpAccountant, RdpConversion } from "./rdpAccountant";

/** θᵢ − θ rounded to float32 once (the update a participant contributes). */
function deltaOf(w: ModelWeights, current: ModelWeights): ModelWeights {
  return w.map((t, v) => {
    const c = current[v].values;
    return { name: t.name, shape: t.shape.slice(), values: t.values.map((x, k) => x - c[k]) };
  });
}

/** Where updates are clipped. */
export type DpSide = "server" | "client";

/** Options shared by the DP wrappers. */
export interface DpStrategyOptions {
  /** Noise multiplier z ≥ 0: noise std = z·C/n on the mean of n clipped updates. */
  readonly noiseMultiplier: number;
  /** Seed of the noise generator (required: DP noise must be reproducible in a lab). */
  readonly seed: number;
  /** "server" (default): the server clips; "client": participants clip (the fit instructions' `clipNorm`) and the server checks. */
  readonly side?: DpSide;
  /** Fraction of the population sampled each round, q in (0, 1], for the accountant. Default 1. */
  readonly samplingRate?: number;
  /** δ at which ε is reported each round. Default 1e-5. */
  readonly delta?: number;
  /** RDP → (ε, δ) conversion. Default "improved" (Balle et al. 2020, as Opacus). */
  readonly conversion?: RdpConversion;
}

/** What the wrapper did in one round (a row of its privacy report). */
export interface DpRoundRecord {
  readonly round: number;
  /** Number of updates aggregated. */
  readonly participants: number;
  /** Clip norm C used this round. */
  readonly clipNorm: number;
  /** Std of the Gaussian noise added to the mean update (z_Δ·C/n). */
  readonly noiseStd: number;
  /** Fraction of updates whose norm exceeded C (diagnostic, computed without noise: not private). */
  readonly clippedFraction: number;
  /** Updates sent by participants (side "client") that exceeded C and were re-clipped by the server. */
  readonly reclipped: number;
  /** Cumulative ε after this round at `delta`. */
  readonly epsilon: number;
  readonly delta: number;
}

/** Check a number option with a sentence naming it. */
export function checkDpNumber(owner: string, option: string, value: number, ok: (v: number) => boolean, want: string): number {
  if (typeof value !== "number" || !ok(value)) throw new Error(`${owner}: ${option} must be ${want}, got ${String(value)}`);
  return value;
}

/** Base class of the DP wrappers: clipping, uniform mean, Gaussian noise, accounting, state. */
export abstract class DpStrategy extends StrategyWrapper {
  /** The overall noise multiplier z (what the accountant uses). */
  readonly noiseMultiplier: number;
  /** Where updates are clipped. */
  readonly side: DpSide;
  /** q for the accountant. */
  readonly samplingRate: number;
  /** δ for the reported ε. */
  readonly delta: number;
  /** The accountant (one step per aggregated round). */
  protected accountant: RdpAccountant;
  /** The noise generator. */
  protected rng: Rng;
  private readonly records: DpRoundRecord[] = [];

  /** Validate the shared options. */
  protected constructor(protected readonly owner: string, inner: Strategy, options: DpStrategyOptions) {
    super(owner, inner);
    if (options === null || typeof options !== "object") throw new Error(`${owner}: options must be an object like { noiseMultiplier: 1, seed: 0 }, got ${String(options)}`);
    this.noiseMultiplier = checkDpNumber(owner, "noiseMultiplier", options.noiseMultiplier, (v) => Number.isFinite(v) && v >= 0, "≥ 0 and finite");
    checkDpNumber(owner, "seed", options.seed, Number.isFinite, "a finite number");
    this.rng = new Rng(options.seed);
    this.side = options.side ?? "server";
    if (this.side !== "server" && this.side !== "client") {
      throw new Error(`${owner}: side must be "server" or "client", got ${String(options.side)}`);
    }
    this.samplingRate = checkDpNumber(owner, "samplingRate", options.samplingRate ?? 1, (v) => v > 0 && v <= 1, "in (0, 1]");
    this.delta = checkDpNumber(owner, "delta", options.delta ?? 1e-5, (v) => v > 0 && v < 1, "in (0, 1)");
    this.accountant = new RdpAccountant({ conversion: options.conversion });
  }

  /** The clip norm for the coming round. */
  abstract currentClipNorm(): number;

  /** The multiplier applied to the update noise this round (z, or z_Δ for adaptive clipping). */
  protected abstract updateNoiseMultiplier(participants: number): number;

  /** Hook before anything changes: throw if the round's norm bits cannot be used. */
  protected checkNormBits(_normBits: readonly number[]): void {
    // Only adaptive clipping needs the bits.
  }

  /** Hook after the round succeeded (adaptive clipping updates C here). */
  protected abstract afterRound(normBits: readonly number[]): void;

  /** Subclass state for checkpoints. */
  protected abstract extraState(): StrategyState;

  /** Restore subclass state. */
  protected abstract restoreExtraState(state: StrategyState): void;

  /** The inner instructions; with side "client" their record also asks for `clipNorm` (participants clip, see updateClipping.ts). */
  override configureFit(round: number, base: FitConfig, participants: readonly string[]): FitInstructions[] {
    const ins = this.inner.configureFit(round, base, participants);
    if (this.side === "server") return ins;
    const clipNorm = this.currentClipNorm();
    return ins.map((i) => ({ settings: i.settings, record: { ...i.record, [CLIP_NORM_KEY]: clipNorm } }));
  }

  /**
   * Clip, average uniformly, add noise, hand the private mean to the inner strategy, account.
   * Metrics: dpEpsilon, dpDelta, dpClipNorm, dpNoiseStd, dpClippedFraction, dpReclipped (after the inner strategy's own).
   */
  override aggregateFit(
    round: number,
    current: ModelWeights,
    updates: readonly FitUpdate[],
    failures: readonly FitFailure[],
  ): AggregateFitResult {
    if (updates.length === 0) {
      const why = failures.map((f) => `${f.participantId}: ${f.reason}`).join("; ");
      throw new Error(`${this.name}: round ${round} has no updates to aggregate${why ? ` (failures: ${why})` : ""}`);
    }
    const clipNorm = this.currentClipNorm();
    const n = updates.length;
    const sums = current.map((t) => new Float64Array(t.values.length));
    const bits: number[] = [];
    let clipped = 0;
    let reclipped = 0;
    for (const u of updates) {
      assertSameLayout(current, u.weights, `${this.name} round ${round}`, `participant "${u.participantId}"`);
      const c = clipUpdate(deltaOf(u.weights, current), clipNorm);
      if (this.side === "client") {
        // Float32 rounding may push an honestly clipped update a hair over C.
        if (c.norm > clipNorm * (1 + 1e-5)) reclipped += 1;
        const bit = u.metrics[NORM_BIT_METRIC];
        bits.push(typeof bit === "number" ? bit : NaN);
      } else {
        bits.push(c.normBit);
        if (c.normBit === 0) clipped += 1;
      }
      c.delta.forEach((t, v) => {
        const s = sums[v];
        for (let k = 0; k < s.length; k++) s[k] += t.values[k];
      });
    }
    if (this.side === "client") clipped = bits.filter((b) => b === 0).length;
    this.checkNormBits(bits);
    // If the inner strategy throws, the noise stream is rewound so that a retry is identical.
    const rngBefore = this.rng.state;
    const zUpdate = this.updateNoiseMultiplier(n);
    const std = (zUpdate * clipNorm) / n;
    const privateWeights: ModelWeights = current.map((t, v) => {
      const s = sums[v];
      const out = new Float32Array(s.length);
      for (let k = 0; k < s.length; k++) out[k] = t.values[k] + s[k] / n + (std > 0 ? std * this.rng.normal() : 0);
      return { name: t.name, shape: t.shape.slice(), values: out };
    });
    const total = updates.reduce((a, u) => a + u.numExamples, 0);
    const synthetic: FitUpdate = { participantId: "dp-mean", weights: privateWeights, numExamples: total > 0 ? total : 1, metrics: {} };
    let next: AggregateFitResult;
    try {
      next = this.inner.aggregateFit(round, current, [synthetic], failures);
    } catch (e) {
      this.rng = Rng.fromState(rngBefore);
      throw e;
    }
    this.afterRound(bits);
    this.accountant.step(this.noiseMultiplier, this.samplingRate);
    const rec: DpRoundRecord = {
      round,
      participants: n,
      clipNorm,
      noiseStd: std,
      clippedFraction: clipped / n,
      reclipped,
      epsilon: this.accountant.getPrivacySpent(this.delta).epsilon,
      delta: this.delta,
    };
    this.records.push(rec);
    const metrics = {
      ...next.metrics,
      dpEpsilon: rec.epsilon,
      dpDelta: rec.delta,
      dpClipNorm: rec.clipNorm,
      dpNoiseStd: rec.noiseStd,
      dpClippedFraction: rec.clippedFraction,
      dpReclipped: rec.reclipped,
    };
    return { weights: next.weights, metrics, lost: next.lost };
  }

  /** Cumulative (ε, δ) so far. */
  privacySpent(delta: number = this.delta): { epsilon: number; delta: number } {
    const p = this.accountant.getPrivacySpent(delta);
    return { epsilon: p.epsilon, delta: p.delta };
  }

  /** One record per aggregated round since construction (or since setState). */
  privacyReport(): DpRoundRecord[] {
    return this.records.slice();
  }

  /** { inner, rng, accountant: {noiseMultipliers, sampleRates, steps}, ...subclass }. */
  override getState(): StrategyState {
    const h = this.accountant.getHistory();
    return {
      inner: this.inner.getState(),
      rng: this.rng.state,
      accountant: {
        noiseMultipliers: h.map((x) => x.noiseMultiplier),
        sampleRates: h.map((x) => x.sampleRate),
        steps: h.map((x) => x.steps),
      },
      ...this.extraState(),
    };
  }

  /** Restore what getState returned. */
  override setState(state: StrategyState): void {
    const inner = state.inner;
    const acc = state.accountant;
    if (typeof state.rng !== "number") throw new Error(`${this.name}.setState: "rng" must be a number`);
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) throw new Error(`${this.name}.setState: "inner" must be an object`);
    if (acc === null || typeof acc !== "object" || Array.isArray(acc)) throw new Error(`${this.name}.setState: "accountant" must be an object`);
    const zs = acc.noiseMultipliers;
    const qs = acc.sampleRates;
    const ts = acc.steps;
    if (!Array.isArray(zs) || !Array.isArray(qs) || !Array.isArray(ts) || zs.length !== qs.length || zs.length !== ts.length) {
      throw new Error(`${this.name}.setState: "accountant" must hold equal-length noiseMultipliers, sampleRates and steps arrays`);
    }
    this.inner.setState(inner);
    this.rng = Rng.fromState(state.rng);
    this.accountant = RdpAccountant.fromHistory(
      zs.map((z, i) => ({ noiseMultiplier: z, sampleRate: qs[i], steps: ts[i] })),
      { conversion: this.accountant.conversion },
    );
    this.records.length = 0;
    this.restoreExtraState(state);
  }
}
