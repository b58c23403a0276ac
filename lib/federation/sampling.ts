/** Client sampling: which participants train in a round (Flower's fraction_fit / min_fit_clients). */
import type { Rng } from "../util/rng";

/** How many participants train per round. */
export interface SamplingOptions {
  /** Fraction of all participants sampled each round, in (0, 1]; default 1. */
  readonly fraction?: number;
  /** At least this many are sampled (capped by the number of participants); default 1. */
  readonly minParticipants?: number;
}

/** Number sampled per round: max(minParticipants, ⌊fraction·n⌋), at most n. */
export function sampleSize(n: number, options: SamplingOptions = {}): number {
  const fraction = options.fraction ?? 1;
  const min = options.minParticipants ?? 1;
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`sampling: fraction must be in (0, 1], got ${fraction}`);
  if (!(Number.isInteger(min) && min >= 1)) throw new Error(`sampling: minParticipants must be an integer ≥ 1, got ${min}`);
  if (min > n) throw new Error(`sampling: minParticipants is ${min} but there are only ${n} participants`);
  return Math.min(n, Math.max(min, Math.floor(fraction * n + 1e-9)));
}

/** Indices (ascending) of the participants sampled this round, drawn from `rng`. */
export function sampleParticipants(n: number, options: SamplingOptions, rng: Rng): number[] {
  const k = sampleSize(n, options);
  if (k === n) return Array.from({ length: n }, (_, i) => i);
  return rng.sample(n, k).sort((a, b) => a - b);
}
