/**
 * IID partition: shuffle all samples and deal them out in near-equal shares (sizes differ by at
 * most one), so every participant sees the global label distribution up to sampling noise.
 */
import { Rng } from "../../util/rng";
import { BasePartitionOptions, checkBase, checkLabels, chunk, Partition, proportionalSizes } from "./partitionArgs";

/** Options of `iidPartition`. */
export type IidPartitionOptions = BasePartitionOptions;

/** Split the samples of `labels` uniformly at random into `numParticipants` near-equal parts. */
export function iidPartition(labels: ArrayLike<number>, options: IidPartitionOptions): Partition {
  checkLabels("iidPartition", labels);
  checkBase("iidPartition", labels.length, options);
  const order = new Rng(options.seed).permutation(labels.length);
  return chunk(order, proportionalSizes(labels.length, new Array<number>(options.numParticipants).fill(1)));
}
