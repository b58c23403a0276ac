import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { checkDyShape, filterGradPadding, forwardConv } from "./convGeometry";
import { signedPadConv2d } from "./signedPadConv2d";

/**
 * Conv2DBackpropFilter for a backend that has a fast Conv2D but no filter gradient (tfjs-backend-wasm).
 *
 * dW[kh,kw,ci,co] = Σ_{b,i,j} x[b, i·s+kh−pt, j·s+kw−pl, ci] · dy[b,i,j,co] is itself a convolution: take the input
 * channels as the batch and the batch as the channels (x → [ci,H,W,B]), use dy as the filter (→ [oh,ow,B,co]) dilated
 * by the forward stride, keep the forward padding. The result [ci,kh,kw,co] is transposed back to [kh,kw,ci,co].
 * XNNPACK runs that convolution as one GEMM, against a scalar loop in the cpu backend.
 */
export function conv2dBackpropFilterVia(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const conv = forwardConv("Conv2DBackpropFilter", x.shape, a.filterShape, a.strides, a.pad, a.dataFormat,
      a.dimRoundingMode);
    checkDyShape("Conv2DBackpropFilter", dy.shape, conv);
    return withKernelScope(backend, backendName, (scope) => {
      const xT = scope.run("Transpose", { x }, { perm: [3, 1, 2, 0] });
      const dyT = scope.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
      const grad = signedPadConv2d(scope, xT, dyT, [conv.strideHeight, conv.strideWidth], filterGradPadding(conv),
        conv.filterHeight, conv.filterWidth);
      return scope.run("Transpose", { x: grad }, { perm: [1, 2, 0, 3] });
    });
  };
}
