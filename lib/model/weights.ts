/**
 * A model's parameters as named, shaped Float32Arrays: what participants send, what strategies
 * aggregate and what checkpoints store. Plain arrays (not tensors) so that aggregation is exact,
 * cheap to copy between threads and free of tfjs memory management.
 */
export interface WeightTensor {
  /** Variable name, e.g. "dense_1/kernel". */
  readonly name: string;
  /** Tensor shape. */
  readonly shape: readonly number[];
  /** Values, row-major, `length = product(shape)`. */
  readonly values: Float32Array;
}

/** All trainable (and non-trainable, e.g. batch-norm statistics) parameters of a model, in model order. */
export type ModelWeights = readonly WeightTensor[];
