import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { checkDyShape, forwardConv, patchGeometry, ROW_LAYOUT_MIN_RUN } from "./convGeometry";
import { WasmHeap } from "./wasmHeap";

/**
 * Conv2DBackpropFilter for tfjs-backend-wasm, which has none: dW[K, Co] = cols[K, P] · dy[P, Co] with
 * cols = im2col(x) transposed (K = kh·kw·Ci patch entries, P = N·OH·OW output positions): fedtune's wasm `im2col_t`
 * and `matmul`, or `im2col` and `matmul_ta` (see ROW_LAYOUT_MIN_RUN; lib/kernels/wasm), straight on the backend's heap.
 *
 * Why not a Conv2D with the batch as channels (fedtune's earlier formulation): for few input channels XNNPACK runs
 * that as a convolution with a huge kernel and a tiny output, 2–6× slower than this GEMM (first conv of a CNN on
 * grey images); for many channels the two are on par.
 */
export function conv2dBackpropFilterVia(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const conv = forwardConv("Conv2DBackpropFilter", x.shape, a.filterShape, a.strides, a.pad, a.dataFormat,
      a.dimRoundingMode);
    checkDyShape("Conv2DBackpropFilter", dy.shape, conv);
    const heap = new WasmHeap(backend, "Conv2DBackpropFilter");
    const k = conv.filterHeight * conv.filterWidth * conv.inChannels;
    const p = conv.batchSize * conv.outHeight * conv.outWidth;
    if (p === 0 || conv.outChannels === 0) return heap.zeros([conv.filterHeight, conv.filterWidth, conv.inChannels, conv.outChannels]);
    return withKernelScope(backend, backendName, (scope) => {
      const grad = scope.adopt(heap.output([conv.filterHeight, conv.filterWidth, conv.inChannels, conv.outChannels]));
      if (conv.filterWidth * conv.inChannels >= ROW_LAYOUT_MIN_RUN) {
        // cols[P, K] (`im2col`: runs of kw·Ci contiguous floats) read transposed in place by `matmul_ta`.
        const cols = scope.adopt(heap.output([p, k]));
        heap.kernels.im2col(heap.offset(x), heap.offset(cols), ...patchGeometry(conv));
        heap.kernels.matmul_ta(heap.offset(cols), heap.offset(dy), heap.offset(grad), k, p, conv.outChannels);
      } else {
        const cols = scope.adopt(heap.output([k, p]));
        heap.kernels.im2col_t(heap.offset(x), heap.offset(cols), ...patchGeometry(conv));
        heap.kernels.matmul(heap.offset(cols), heap.offset(dy), heap.offset(grad), k, p, conv.outChannels);
      }
      return grad;
    });
  };
}
