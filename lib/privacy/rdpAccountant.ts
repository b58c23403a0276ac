/**
 * Rényi-DP accountant for the Sampled Gaussian Mechanism (Mironov, Talwar & Zhang 2019, "Rényi
 * Differential Privacy of the Sampled Gaussian Mechanism", https://arxiv.org/abs/1908.10530),
 * computed as TF Privacy's / Opacus's `compute_rdp`: log A_α by the binomial expansion for
 * integer α (Section 3.3) and by the two-sided series with erfc tails for fractional α
 * (Section 3.4), all in log space. RDP composes additively over steps; (ε, δ) comes from
 * minimising over the orders with one of two conversions:
 *  - "classic": ε = rdp(α) − log δ/(α − 1) (Mironov 2017, Prop. 3; TF Privacy's tutorials, Abadi et al. numbers);
 *  - "improved": ε = rdp(α) − (log δ + log α)/(α − 1) + log((α − 1)/α) (Balle et al. 2020, Thm. 21; Opacus ≥ 1.0).
 * Default: "improved" (always ≤ classic, and what Opacus reports).
 *
 * In federated learning a "step" is a round, q is the fraction of participants sampled and σ the
 * noise multiplier of the server's Gaussian noise: the guarantee is participant-level DP.
 */

/** How RDP is converted to (ε, δ)-DP. */
export type RdpConversion = "classic" | "improved";

/** Opacus's and TF Privacy's default orders: 1.1, 1.2, …, 10.9, 12, 13, …, 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

function logSub(a: number, b: number): number {
  if (a < b) throw new Error(`rdpAccountant: log-space subtraction went negative (${a} < ${b})`);
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  return Math.log(-Math.expm1(b - a)) + a;
}

/**
 * log(erfc(x)) to ~1e-7 relative accuracy for all x, without underflow for large x
 * (Numerical Recipes' Chebyshev fit erfcc, kept in log form).
 */
export function logErfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const logErfcAbs = Math.log(t) + poly;
  return x >= 0 ? logErfcAbs : Math.log(2 - Math.exp(logErfcAbs));
}

function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log(1 - q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let logAbsBinom = 0; // log|C(α, i)|
  let sign = 1;
  for (let i = 0; ; i++) {
    if (i > 0) {
      const f = alpha - i + 1;
      logAbsBinom += Math.log(Math.abs(f)) - Math.log(i);
      if (f < 0) sign = -sign;
    }
    const j = alpha - i;
    const logT0 = logAbsBinom + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logAbsBinom + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
    if (i > 100000) throw new Error(`rdpAccountant: series for order ${alpha} did not converge`);
  }
  return logAdd(logA0, logA1);
}

/** RDP of one step of the Sampled Gaussian Mechanism at order α (can be Infinity). */
export function sampledGaussianRdp(q: number, noiseMultiplier: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`sampledGaussianRdp: sampling rate q must be in [0, 1], got ${q}`);
  if (!(noiseMultiplier >= 0)) throw new Error(`sampledGaussianRdp: noiseMultiplier must be ≥ 0, got ${noiseMultiplier}`);
  if (!(alpha > 1)) throw new Error(`sampledGaussianRdp: order alpha must be > 1, got ${alpha}`);
  if (q === 0) return 0;
  if (noiseMultiplier === 0) return Infinity;
  if (q === 1) return alpha / (2 * noiseMultiplier * noiseMultiplier);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInteger(q, noiseMultiplier, alpha) : logAFractional(q, noiseMultiplier, alpha);
  return logA / (alpha - 1);
}

/** RDP of `steps` compositions of the Sampled Gaussian Mechanism, at each order (TF Privacy's compute_rdp). */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`computeRdp: steps must be an integer ≥ 0, got ${steps}`);
  return orders.map((a) => sampledGaussianRdp(q, noiseMultiplier, a) * steps);
}

/** An (ε, δ) guarantee and the order that gave it. */
export interface PrivacySpent {
  readonly epsilon: number;
  readonly delta: number;
  /** The RDP order α at which ε was minimised. */
  readonly order: number;
}

/** Convert RDP values at `orders` to the smallest ε for `delta` (see the file header for the conversions). */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = "improved",
): PrivacySpent {
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new Error(`rdpToEpsilon: orders (${orders.length}) and rdp (${rdp.length}) must have the same, non-zero length`);
  }
  if (!(delta > 0 && delta < 1)) throw new Error(`rdpToEpsilon: delta must be in (0, 1), got ${delta}`);
  let best = Infinity;
  let order = NaN;
  orders.forEach((a, i) => {
    const e =
      conversion === "classic"
        ? rdp[i] - Math.log(delta) / (a - 1)
        : rdp[i] - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (e < best) {
      best = e;
      order = a;
    }
  });
  return { epsilon: Math.max(0, best), delta, order };
}

/** One block of identical steps in the accountant's history. */
export interface RdpHistoryEntry {
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
}

/** Options for RdpAccountant. */
export interface RdpAccountantOptions {
  /** RDP orders α > 1. Default DEFAULT_RDP_ORDERS. */
  readonly orders?: readonly number[];
  /** RDP → (ε, δ) conversion. Default "improved". */
  readonly conversion?: RdpConversion;
}

/** Tracks the RDP spent by a sequence of Sampled Gaussian Mechanism steps (one per round). */
export class RdpAccountant {
  /** Orders at which RDP is tracked. */
  readonly orders: readonly number[];
  /** The conversion used by `getPrivacySpent`. */
  readonly conversion: RdpConversion;
  private readonly history: RdpHistoryEntry[] = [];
  private readonly rdp: number[];

  /** Build an empty accountant. */
  constructor(options: RdpAccountantOptions = {}) {
    this.orders = (options.orders ?? DEFAULT_RDP_ORDERS).slice();
    if (this.orders.length === 0 || this.orders.some((a) => !(a > 1))) {
      throw new Error(`RdpAccountant: orders must be a non-empty list of numbers > 1, got [${this.orders.join(", ")}]`);
    }
    this.conversion = options.conversion ?? "improved";
    if (this.conversion !== "classic" && this.conversion !== "improved") {
      throw new Error(`RdpAccountant: conversion must be "classic" or "improved", got ${String(this.conversion)}`);
    }
    this.rdp = this.orders.map(() => 0);
  }

  /** Record `steps` steps of the mechanism with this noise multiplier and sampling rate. */
  step(noiseMultiplier: number, sampleRate: number, steps = 1): void {
    const add = computeRdp(sampleRate, noiseMultiplier, steps, this.orders);
    add.forEach((x, i) => (this.rdp[i] += x));
    const last = this.history[this.history.length - 1];
    if (last && last.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate) {
      this.history[this.history.length - 1] = { ...last, steps: last.steps + steps };
    } else {
      this.history.push({ noiseMultiplier, sampleRate, steps });
    }
  }

  /** Total steps recorded. */
  get totalSteps(): number {
    return this.history.reduce((s, h) => s + h.steps, 0);
  }

  /** The accumulated RDP at each order. */
  getRdp(): number[] {
    return this.rdp.slice();
  }

  /** (ε, δ) spent so far for the given δ. */
  getPrivacySpent(delta: number, conversion: RdpConversion = this.conversion): PrivacySpent {
    if (this.history.length === 0) return { epsilon: 0, delta, order: NaN };
    return rdpToEpsilon(this.orders, this.rdp, delta, conversion);
  }

  /** The recorded steps, compressed into blocks (for checkpoints: replay with `step`). */
  getHistory(): RdpHistoryEntry[] {
    return this.history.map((h) => ({ ...h }));
  }

  /** Rebuild an accountant from `getHistory()` output. */
  static fromHistory(history: readonly RdpHistoryEntry[], options: RdpAccountantOptions = {}): RdpAccountant {
    const acc = new RdpAccountant(options);
    for (const h of history) acc.step(h.noiseMultiplier, h.sampleRate, h.steps);
    return acc;
  }
}

/**
 * The smallest noise multiplier (to ±tolerance) whose ε after `steps` steps at sampling rate q is
 * ≤ targetEpsilon at targetDelta (bisection, as Opacus's get_noise_multiplier).
 */
export function findNoiseMultiplier(options: {
  targetEpsilon: number;
  targetDelta: number;
  sampleRate: number;
  steps: number;
  conversion?: RdpConversion;
  tolerance?: number;
}): number {
  const { targetEpsilon, targetDelta, sampleRate, steps } = options;
  const tol = options.tolerance ?? 0.01;
  if (!(targetEpsilon > 0)) throw new Error(`findNoiseMultiplier: targetEpsilon must be > 0, got ${targetEpsilon}`);
  const eps = (z: number): number => {
    try {
      return rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(sampleRate, z, steps), targetDelta, options.conversion).epsilon;
    } catch {
      return Infinity; // the fractional-order series does not converge for vanishing noise: no privacy
    }
  };
  let lo = 0;
  let hi = 10;
  while (eps(hi) > targetEpsilon) {
    hi *= 2;
    if (hi > 5000) throw new Error(`findNoiseMultiplier: ε = ${targetEpsilon} is unreachable (noise multiplier > 5000)`);
  }
  while (hi - lo > tol) {
    const mid = (lo + hi) / 2;
    if (eps(mid) > targetEpsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}
