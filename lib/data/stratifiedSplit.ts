/**
 * Split a set of sample indices into parts of given sizes so that every part keeps (as nearly as
 * integer sizes allow) the label proportions of the whole: systematic sampling over the indices
 * sorted by label. Sizes are exact; each part comes back in shuffled order.
 */
import { Rng } from "../util/rng";

/** Split `indices` (into `labels`) into parts of exactly `sizes`, stratified by label. */
export function stratifiedSplit(labels: ArrayLike<number>, indices: ArrayLike<number>, sizes: readonly number[], rng: Rng): number[][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.some((s) => !(Number.isInteger(s) && s >= 0))) {
    throw new Error(`stratifiedSplit: sizes must be non-negative integers, got [${sizes.join(", ")}]`);
  }
  if (total !== indices.length) {
    throw new Error(`stratifiedSplit: sizes [${sizes.join(", ")}] add up to ${total}, but there are ${indices.length} indices`);
  }
  // Shuffle first so that ties within a label are broken at random, then stable-sort by label.
  const order = rng.shuffle(Array.from(indices)) as number[];
  order.sort((a, b) => labels[a] - labels[b]);
  let remaining = order;
  const parts: number[][] = [];
  for (let j = 0; j < sizes.length; j++) {
    const s = sizes[j];
    if (j === sizes.length - 1) {
      parts.push(remaining);
      break;
    }
    // Every (r/s)-th element from a random start: distinct positions spread evenly over the labels.
    const r = remaining.length;
    const offset = rng.next();
    const take = new Uint8Array(r);
    for (let k = 0; k < s; k++) take[Math.floor(((k + offset) * r) / s)] = 1;
    parts.push(remaining.filter((_, p) => take[p] === 1));
    remaining = remaining.filter((_, p) => take[p] === 0);
  }
  for (const p of parts) rng.shuffle(p);
  return parts;
}
