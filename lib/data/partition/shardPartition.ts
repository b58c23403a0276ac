/**
 * Pathological non-IID partition (McMahan et al. 2017, "Communication-Efficient Learning of Deep
 * Networks from Decentralized Data"): sort the samples by label, cut them into shards, give each
 * participant `shardsPerParticipant` shards at random.
 * Difference from the paper, on purpose: shards never straddle two labels (each label's samples are
 * cut into its own shards, shard counts proportional to label frequency), so a participant holds at
 * most `shardsPerParticipant` labels — the guarantee people reason with.
 */
import { Rng } from "../../util/rng";
import { BasePartitionOptions, checkBase, checkLabels, chunk, Partition, proportionalSizes } from "./partitionArgs";

/** Options of `shardPartition`. */
export interface ShardPartitionOptions extends BasePartitionOptions {
  /** Shards (hence at most labels) per participant, e.g. 2. */
  readonly shardsPerParticipant: number;
}

/** Partition `labels` into single-label shards, `shardsPerParticipant` per participant. */
export function shardPartition(labels: ArrayLike<number>, options: ShardPartitionOptions): Partition {
  const fn = "shardPartition";
  const numClasses = checkLabels(fn, labels);
  checkBase(fn, labels.length, options);
  const { shardsPerParticipant: k, numParticipants: n } = options;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`${fn}: shardsPerParticipant must be an integer >= 1, got ${k}`);
  const rng = new Rng(options.seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const present = byClass.map((m, c) => ({ c, size: m.length })).filter((e) => e.size > 0);
  const totalShards = n * k;
  if (totalShards < present.length) {
    throw new Error(
      `${fn}: numParticipants × shardsPerParticipant = ${totalShards} shards cannot cover the ${present.length} labels present ` +
        `with single-label shards; need at least ${present.length}`,
    );
  }
  if (totalShards > labels.length) throw new Error(`${fn}: ${totalShards} shards exceed the ${labels.length} samples`);
  // Give each label one shard, then hand out the rest one at a time to the label whose shards are largest
  // (D'Hondt), which keeps all shard sizes as equal as single-label shards allow.
  const shardsOf = present.map(() => 1);
  for (let s = present.length; s < totalShards; s++) {
    let best = -1;
    for (let j = 0; j < present.length; j++) {
      if (shardsOf[j] >= present[j].size) continue;
      if (best < 0 || present[j].size / shardsOf[j] > present[best].size / shardsOf[best]) best = j;
    }
    shardsOf[best]++;
  }
  const shards: number[][] = [];
  present.forEach((e, j) => {
    const members = rng.shuffle(byClass[e.c].slice()) as number[];
    shards.push(...chunk(members, proportionalSizes(members.length, new Array<number>(shardsOf[j]).fill(1))));
  });
  const order = rng.permutation(shards.length);
  const parts: Partition = Array.from({ length: n }, () => []);
  for (let s = 0; s < order.length; s++) parts[Math.floor(s / k)].push(...shards[order[s]]);
  for (const q of parts) rng.shuffle(q);
  return parts;
}
