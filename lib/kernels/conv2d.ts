import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { forwardConv, patchGeometry, ROW_LAYOUT_MIN_RUN } from "./convGeometry";
import { WasmHeap } from "./wasmHeap";

/**
 * Largest patch matrix (P·K floats, P = N·OH·OW output positions, K = kh·kw·Ci) for which the forward convolution runs
 * as fedtune's wasm `im2col` + `matmul` instead of the backend's XNNPACK convolution. XNNPACK packs the filter into an
 * operator cached by the filter tensor, which a training step replaces every time, so at training batch sizes the
 * packing costs more than it saves; a large evaluation batch on fixed weights amortises it (and the patch matrix
 * would no longer fit in cache). With the native products (lib/kernels/native.ts), ~4× XNNPACK's speed, every size
 * runs here, in chunks of whole samples whose patch matrix holds at most this many floats.
 */
export const MAX_PATCH_FLOATS = 1 << 19;

/**
 * Conv2D for tfjs-backend-wasm at training sizes: the patch matrix cols[P, K] (wasm `im2col`; for short input runs its
 * transpose, `im2col_t`, read by `matmul_ta`: ROW_LAYOUT_MIN_RUN) times the filter, which is already W[K, Co]
 * row-major, in one `matmul` whose output [P, Co] is the NHWC result. Each output sums its
 * products in the order XNNPACK's convolution does (kh, kw, c from 0), so the values are the stock kernel's, bit for
 * bit. Dilations, NCHW, non-float32 inputs and, where the native products do not run, large patch matrices go to the
 * stock kernel (`stock`, looked up when called because registration may happen before the backend exists) — but never
 * strided or numerically padded convolutions: there the stock kernel is wrong (all zeros for x [1,8,6,6] * [4,1,6,4], strides [2,3], same) or writes
 * past its output (numeric pads where XNNPACK's output width differs from tfjs's), so they always run here.
 */
export function conv2dVia(backendName: string, stock: () => tf.KernelFunc | undefined): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DAttrs;
    const stockConv = stock();
    if (stockConv === undefined) throw new Error(`Conv2D: the stock ${backendName} kernel is not available`);
    const dilations = typeof a.dilations === "number" ? [a.dilations, a.dilations] : a.dilations ?? [1, 1];
    const fh = filter.shape[0] ?? 0;
    const fw = filter.shape[1] ?? 0;
    const ci = filter.shape[2] ?? 0;
    const plain = x.dtype === "float32" && filter.dtype === "float32" && (a.dataFormat ?? "NHWC") === "NHWC" &&
      dilations[0] === 1 && dilations[1] === 1 && x.shape.length === 4 && filter.shape.length === 4;
    if (!plain) return stockConv({ inputs, backend, attrs });
    const conv = forwardConv("Conv2D", x.shape, filter.shape, a.strides, a.pad, a.dataFormat, a.dimRoundingMode);
    const k = fh * fw * ci;
    const p = conv.batchSize * conv.outHeight * conv.outWidth;
    // The stock kernel is only right with stride 1 and a named padding (see the doc comment): anything else stays here.
    const stockIsRight = (a.pad === "same" || a.pad === "valid") && conv.strideHeight === 1 && conv.strideWidth === 1;
    if (p === 0 || k === 0 || conv.outChannels === 0) return stockConv({ inputs, backend, attrs });
    const heap = new WasmHeap(backend, "Conv2D");
    if (p * k > MAX_PATCH_FLOATS && stockIsRight && !heap.nativeProducts) return stockConv({ inputs, backend, attrs });
    // Whole samples per chunk, as many as keep the patch matrix within MAX_PATCH_FLOATS (at least one). Each output is
    // one chunk's product, so the chunking changes no value.
    const positions = conv.outHeight * conv.outWidth;
    const chunk = p * k <= MAX_PATCH_FLOATS ? conv.batchSize : Math.max(1, Math.floor(MAX_PATCH_FLOATS / (positions * k)));
    return withKernelScope(backend, backendName, (scope) => {
      const cols = scope.adopt(heap.output([Math.min(chunk, conv.batchSize) * positions, k]));
      const out = scope.adopt(heap.output([conv.batchSize, conv.outHeight, conv.outWidth, conv.outChannels]));
      const geometry = patchGeometry(conv);
      const sampleIn = conv.inHeight * conv.inWidth * conv.inChannels * 4;
      const sampleOut = positions * conv.outChannels * 4;
      const rowLayout = fw * ci >= ROW_LAYOUT_MIN_RUN;
      for (let b0 = 0; b0 < conv.batchSize; b0 += chunk) {
        const samples = Math.min(chunk, conv.batchSize - b0);
        geometry[0] = samples;
        const at = heap.offset(x) + b0 * sampleIn;
        const outAt = heap.offset(out) + b0 * sampleOut;
        if (rowLayout) {
          heap.kernels.im2col(at, heap.offset(cols), ...geometry);
          heap.kernels.matmul(heap.offset(cols), heap.offset(filter), outAt, samples * positions, k, conv.outChannels);
        } else {
          heap.kernels.im2col_t(at, heap.offset(cols), ...geometry);
          heap.kernels.matmul_ta(heap.offset(cols), heap.offset(filter), outAt, samples * positions, k, conv.outChannels);
        }
      }
      return out;
    });
  };
}
