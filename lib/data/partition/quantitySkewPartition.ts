/**
 * Quantity-skew partition: participants hold very different amounts of data but the same label
 * distribution (samples are dealt at random). Sizes are proportional to random weights drawn from
 * a lognormal (exp(σ·z)) or a power law (Pareto with the given exponent), after a guaranteed
 * minimum per participant.
 */
import { Rng } from "../../util/rng";
import { BasePartitionOptions, checkBase, checkLabels, chunk, Partition, proportionalSizes } from "./partitionArgs";

/** Options of `quantitySkewPartition`. */
export interface QuantitySkewPartitionOptions extends BasePartitionOptions {
  /** Size distribution: "lognormal" (default) or "power-law". */
  readonly distribution?: "lognormal" | "power-law";
  /** Lognormal σ (default 1; 0 gives equal sizes). */
  readonly sigma?: number;
  /** Pareto exponent > 0 of the power law (default 1.5; smaller = more skewed). */
  readonly exponent?: number;
  /** Minimum samples per participant (default 1). */
  readonly minSize?: number;
}

/** Partition `labels` IID in content but with skewed participant sizes. */
export function quantitySkewPartition(labels: ArrayLike<number>, options: QuantitySkewPartitionOptions): Partition {
  const fn = "quantitySkewPartition";
  checkLabels(fn, labels);
  checkBase(fn, labels.length, options);
  const n = options.numParticipants;
  const N = labels.length;
  const distribution = options.distribution ?? "lognormal";
  const sigma = options.sigma ?? 1;
  const exponent = options.exponent ?? 1.5;
  const minSize = options.minSize ?? 1;
  if (distribution !== "lognormal" && distribution !== "power-law") {
    throw new Error(`${fn}: distribution must be "lognormal" or "power-law", got ${JSON.stringify(distribution)}`);
  }
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new Error(`${fn}: sigma must be >= 0, got ${sigma}`);
  if (!(exponent > 0 && Number.isFinite(exponent))) throw new Error(`${fn}: exponent must be > 0, got ${exponent}`);
  if (!(Number.isInteger(minSize) && minSize >= 0)) throw new Error(`${fn}: minSize must be an integer >= 0, got ${minSize}`);
  if (minSize * n > N) throw new Error(`${fn}: minSize ${minSize} × ${n} participants exceeds the ${N} samples`);
  const rng = new Rng(options.seed);
  const weights = Array.from({ length: n }, () =>
    distribution === "lognormal" ? Math.exp(sigma * rng.normal()) : Math.pow(1 - rng.next(), -1 / exponent),
  );
  const sizes = proportionalSizes(N - minSize * n, weights).map((s) => s + minSize);
  return chunk(rng.permutation(N), sizes);
}
