import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { checkDyShape, forwardConv, patchGeometry } from "./convGeometry";
import { WasmHeap } from "./wasmHeap";

/**
 * Conv2DBackpropInput for tfjs-backend-wasm (whose own kernel is a scalar loop): the patch gradients
 * cols[P, K] = dy[P, Co] · W[K, Co]ᵀ in one GEMM, then added back onto the input positions they came from
 * (fedtune's wasm `matmul` and `col2im`, lib/kernels/wasm, on the backend's heap). P = N·OH·OW output positions, K = kh·kw·Ci patch entries.
 *
 * Why not the "transposed convolution" identity (fedtune's earlier formulation, a stride-1 Conv2D of dy padded by
 * filter−1): for valid padding it multiplies by (1 + (filter−1)/out)² more zeros than there are products to compute,
 * 2.25× the work for a 5×5 filter on an 8×8 output; the GEMM computes each product once.
 */
export function conv2dBackpropInputVia(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const conv = forwardConv("Conv2DBackpropInput", a.inputShape, filter.shape, a.strides, a.pad, a.dataFormat,
      a.dimRoundingMode);
    checkDyShape("Conv2DBackpropInput", dy.shape, conv);
    const heap = new WasmHeap(backend, "Conv2DBackpropInput");
    const k = conv.filterHeight * conv.filterWidth * conv.inChannels;
    const p = conv.batchSize * conv.outHeight * conv.outWidth;
    if (p === 0 || conv.outChannels === 0) return heap.zeros([conv.batchSize, conv.inHeight, conv.inWidth, conv.inChannels]);
    return withKernelScope(backend, backendName, (scope) => {
      const w2 = scope.run("Reshape", { x: filter }, { shape: [k, conv.outChannels] });
      const wT = scope.run("Transpose", { x: w2 }, { perm: [1, 0] });
      const cols = scope.adopt(heap.output([p, k]));
      heap.kernels.matmul(heap.offset(dy), heap.offset(wT), heap.offset(cols), p, conv.outChannels, k);
      const dx = scope.adopt(heap.output([conv.batchSize, conv.inHeight, conv.inWidth, conv.inChannels]));
      heap.kernels.col2im(heap.offset(cols), heap.offset(dx), ...patchGeometry(conv));
      return dx;
    });
  };
}
