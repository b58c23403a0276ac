/**
 * PFLlib's pathological label skew ("pat"), as `separate_data` in TsingZ0/PFLlib
 * dataset/utils/dataset_utils.py builds it: the labels are dealt in order, each to the first
 * ⌈numParticipants / numClasses × classesPerParticipant⌉ participants that still have room, so with
 * 20 participants and 2 classes each label c goes to participants 4(c mod 5) … 4(c mod 5) + 3. A
 * label's samples, in dataset order, are cut into consecutive pieces, one per chosen participant:
 * equal pieces (`balance`), or, PFLlib's default, all but the last a uniform random integer in
 * [max(share / 10, leastSamples / numClasses), share) and the last what is left, where share is the
 * label's count over its participants. Only PFLlib's numpy generator is replaced (by the seeded Rng).
 */
import { Rng } from "../../util/rng";
import { BasePartitionOptions, checkBase, checkLabels, Partition } from "./partitionArgs";

/** Options of `pflPathologicalPartition`. */
export interface PflPathologicalPartitionOptions extends BasePartitionOptions {
  /** Labels per participant (PFLlib's class_per_client; 2 for Fashion-MNIST). */
  readonly classesPerParticipant: number;
  /** Equal pieces per label (PFLlib's "balance"); default false, PFLlib's benchmark setting. */
  readonly balance?: boolean;
  /**
   * PFLlib's least_samples (default ⌊min(10 / (1 − 0.75), samples / participants / 2)⌋: one test batch
   * of 10 under its 75/25 split); the random pieces are at least leastSamples / numClasses.
   */
  readonly leastSamples?: number;
}

/** Partition `labels` the way PFLlib's "pat" does (see the file comment). */
export function pflPathologicalPartition(labels: ArrayLike<number>, options: PflPathologicalPartitionOptions): Partition {
  const fn = "pflPathologicalPartition";
  const numClasses = checkLabels(fn, labels);
  checkBase(fn, labels.length, options);
  const { numParticipants: n, classesPerParticipant: k } = options;
  if (!(Number.isInteger(k) && k >= 1 && k <= numClasses)) throw new Error(`${fn}: classesPerParticipant must be an integer in [1, ${numClasses}], got ${k}`);
  const least = options.leastSamples ?? Math.floor(Math.min(10 / (1 - 0.75), labels.length / n / 2));
  const rng = new Rng(options.seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const room = new Array<number>(n).fill(k);
  const parts: Partition = Array.from({ length: n }, () => []);
  const perLabel = Math.ceil((n / numClasses) * k);
  for (let c = 0; c < numClasses; c++) {
    const chosen = room.map((r, p) => (r > 0 ? p : -1)).filter((p) => p >= 0).slice(0, perLabel);
    if (chosen.length === 0) break;
    const members = byClass[c];
    const share = members.length / chosen.length;
    const sizes: number[] = [];
    for (let j = 0; j < chosen.length - 1; j++) {
      if (options.balance) sizes.push(Math.floor(share));
      else {
        const low = Math.floor(Math.max(share / 10, least / numClasses));
        const high = Math.floor(share);
        if (!(high > low)) throw new Error(`${fn}: label ${c} has ${members.length} samples, too few for ${chosen.length} participants at ≥ ${low} each`);
        sizes.push(low + rng.int(high - low));
      }
    }
    sizes.push(members.length - sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    chosen.forEach((p, j) => {
      for (let s = 0; s < sizes[j]; s++) parts[p].push(members[at + s]);
      at += sizes[j];
      room[p]--;
    });
  }
  const empty = parts.findIndex((p) => p.length === 0);
  if (empty >= 0) throw new Error(`${fn}: participant ${empty} received no samples (${numClasses} labels × ${perLabel} participants each do not reach all ${n})`);
  return parts;
}
