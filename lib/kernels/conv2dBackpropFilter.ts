import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { checkDyShape, forwardConv, patchGeometry } from "./convGeometry";
import { WasmHeap } from "./wasmHeap";

/**
 * Shortest run of contiguous input floats (kw·Ci) from which the filter gradient builds its patch matrix row by row
 * (`im2col`, whole runs copied) and reads it transposed (`matmul_ta`), instead of building the transposed matrix
 * (`im2col_t`, one float at a time, strided by Ci). For the issue-15 CNN's second convolution (kw·Ci = 160) at batch
 * 10 that is 35 + 370 µs against 685 + 330 µs; for its first (grey input, kw·Ci = 5) the transposed build is faster.
 * Either way each gradient is the same sum over positions in the same order: the same bits.
 */
export const ROW_LAYOUT_MIN_RUN = 16;

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
