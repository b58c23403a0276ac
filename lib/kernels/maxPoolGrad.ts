import * as tf from "@tensorflow/tfjs";
import { WasmHeap } from "./wasmHeap";

/**
 * MaxPoolGrad for tfjs-backend-wasm as one pass of fedtune's wasm `max_pool_grad` (lib/kernels/wasm) over the
 * backend's heap.
 *
 * Why: the stock wasm kernel (4.22) is slow (~60 ns per input element: it recomputes every window's argmax and then
 * searches, per input element, the windows that cover it) and wrong for windows whose maximum is ≤ FLT_MIN (about
 * 1.2e-38): it seeds the running maximum with `numeric_limits<float>::min()`, so all-negative windows pass no gradient
 * at all, and it hands a tie to the last maximal element. This kernel has the reference semantics of the tfjs cpu
 * backend: each window's gradient goes to its first maximal element (row-major, strict `>` from −∞); windows that
 * overlap add up in window order, as the cpu backend sums them.
 */
export function maxPoolGradWasm(): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = attrs as unknown as tf.MaxPoolGradAttrs;
    const heap = new WasmHeap(backend, "MaxPoolGrad");
    if (input.shape.length !== 4) throw new Error(`MaxPoolGrad: input must be rank 4 (NHWC), got [${input.shape.join(",")}]`);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad,
      a.dimRoundingMode);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    const fh = info.effectiveFilterHeight;
    const fw = info.effectiveFilterWidth;
    const padTop = info.padInfo.top;
    const padLeft = info.padInfo.left;
    if (dy.shape.length !== 4 || dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c) {
      throw new Error(`MaxPoolGrad: dy has shape [${dy.shape.join(",")}] but the pool's output is [${n},${oh},${ow},${c}]`);
    }
    const out = heap.output(input.shape.slice());
    heap.kernels.max_pool_grad(heap.offset(input), heap.offset(dy), heap.offset(out), n, h, w, c, oh, ow, fh, fw, sh, sw,
      padTop, padLeft);
    return out;
  };
}
