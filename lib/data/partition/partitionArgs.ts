/**
 * Argument checks shared by the partitioners. Each check is one sentence naming the function,
 * the argument and the value it got, e.g. `dirichletPartition: alpha must be > 0, got -1`.
 */

/** Indices of the samples each participant holds: `partition[i]` for participant i. */
export type Partition = number[][];

/** Options every partitioner takes. */
export interface BasePartitionOptions {
  /** Number of participants (>= 1). */
  readonly numParticipants: number;
  /** Seed of every random choice; the same seed gives the same partition. */
  readonly seed: number;
}

/** Check the labels array: integers >= 0. Returns the number of classes (max label + 1). */
export function checkLabels(fn: string, labels: ArrayLike<number>): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= 0)) throw new Error(`${fn}: labels must be integers >= 0, got ${l} at index ${i}`);
    if (l > max) max = l;
  }
  return max + 1;
}

/** Check numParticipants and seed against the number of samples. */
export function checkBase(fn: string, numSamples: number, options: BasePartitionOptions): void {
  const { numParticipants, seed } = options;
  if (!(Number.isInteger(numParticipants) && numParticipants >= 1)) {
    throw new Error(`${fn}: numParticipants must be an integer >= 1, got ${numParticipants}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`${fn}: seed must be a finite number, got ${seed}`);
  if (numParticipants > numSamples) {
    throw new Error(`${fn}: numParticipants (${numParticipants}) exceeds the number of samples (${numSamples})`);
  }
}

/** Split `total` into integer parts proportional to `weights` (largest-remainder rounding; parts add up exactly). */
export function proportionalSizes(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const sizes = exact.map(Math.floor);
  let left = total - sizes.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % byRemainder.length, left--) sizes[byRemainder[k].i]++;
  return sizes;
}

/** Cut `order` into consecutive chunks of the given sizes. */
export function chunk(order: ArrayLike<number>, sizes: readonly number[]): Partition {
  const parts: Partition = [];
  let start = 0;
  for (const s of sizes) {
    parts.push(Array.from({ length: s }, (_, k) => order[start + k]));
    start += s;
  }
  return parts;
}
