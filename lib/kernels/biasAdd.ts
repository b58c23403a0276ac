import * as tf from "@tensorflow/tfjs";
import { WasmHeap } from "./wasmHeap";

/**
 * Add for tfjs-backend-wasm that adds a bias — `b` of shape [c] or [1, …, 1, c], `a` of shape […, c], both float32 —
 * in one pass of fedtune's wasm `add_rows`; every other Add goes to the stock kernel (`stock`, looked up when called).
 *
 * Why: the stock kernel broadcasts by converting every output index to coordinates and back (about 13 µs for a batch
 * of 64 dense outputs of 128, several times a plain add); a dense or convolution layer adds its bias this way on every
 * training step, since tfjs does not fuse bias and activation while recording gradients. One float32 addition per
 * element, a + b, as before: the same bits.
 */
export function biasAddVia(stock: () => tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const c = a.shape[a.shape.length - 1];
    const isBias = a.dtype === "float32" && b.dtype === "float32" && a.shape.length >= 1 && b.shape.length >= 1 &&
      b.shape.length <= a.shape.length && b.shape[b.shape.length - 1] === c && b.shape.slice(0, -1).every((d) => d === 1) && c > 0;
    if (!isBias) {
      const stockAdd = stock();
      if (stockAdd === undefined) throw new Error("Add: the stock wasm kernel is not available");
      return stockAdd(args);
    }
    const heap = new WasmHeap(backend, "Add");
    const out = heap.output([...a.shape]);
    const rows = tf.util.sizeFromShape(a.shape) / c;
    if (rows > 0) heap.kernels.add_rows(heap.offset(a), heap.offset(b), heap.offset(out), rows, c);
    return out;
  };
}
