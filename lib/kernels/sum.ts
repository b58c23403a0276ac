import * as tf from "@tensorflow/tfjs";
import { WasmHeap } from "./wasmHeap";

/**
 * Sum for tfjs-backend-wasm that reduces all leading axes of a float32 tensor, keeping the last one (a bias gradient:
 * the sum of dy over batch and positions), in one pass of fedtune's wasm `sum_rows`; other reductions go to the stock
 * kernel (`stock`, looked up when called because registration may happen before the backend exists).
 *
 * Why: the stock kernel first transposes the reduced axes to the end (a full copy of dy, e.g. 184,320 floats for the
 * first convolution of the issue-15 CNN at batch 10), then sums each channel one float at a time. `sum_rows` adds the
 * same values in the same order (each channel from 0, rows in increasing order), so the result is the same bit for bit.
 */
export function sumVia(stock: () => tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const stockSum = stock();
    if (stockSum === undefined) throw new Error("Sum: the stock wasm kernel is not available");
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    const c = x.shape[rank - 1];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    if (x.dtype !== "float32" || !leading || c === 0 || rows === 0) return stockSum(args);
    const heap = new WasmHeap(backend, "Sum");
    const out = heap.output(keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c]);
    heap.kernels.sum_rows(heap.offset(x), heap.offset(out), rows, c);
    return out;
  };
}
