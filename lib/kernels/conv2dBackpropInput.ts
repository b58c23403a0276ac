import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { checkDyShape, forwardConv, inputGradPadding } from "./convGeometry";
import { signedPadConv2d } from "./signedPadConv2d";

/**
 * Conv2DBackpropInput as a stride-1 Conv2D (the "transposed convolution" identity), for a backend whose own kernel is
 * a scalar loop (tfjs-backend-wasm 4.x) but whose Conv2D is XNNPACK.
 *
 * dx = conv(dy with stride−1 zeros inserted between elements, filter flipped in h and w with in/out swapped), padded
 * by filterSize−1−forwardPad. The zeros are inserted with Reshape + PadV2 + Reshape, so no JavaScript loop touches
 * the data.
 */
export function conv2dBackpropInputVia(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const conv = forwardConv("Conv2DBackpropInput", a.inputShape, filter.shape, a.strides, a.pad, a.dataFormat,
      a.dimRoundingMode);
    checkDyShape("Conv2DBackpropInput", dy.shape, conv);
    return withKernelScope(backend, backendName, (scope) => {
      const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: co, strideHeight: sh, strideWidth: sw } = conv;
      let spread = dy;
      if (sh > 1 || sw > 1) {
        const expanded = scope.run("Reshape", { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
        const padded = scope.run("PadV2", { x: expanded }, {
          paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
          constantValue: 0,
        });
        spread = scope.run("Reshape", { x: padded }, { shape: [n, oh * sh, ow * sw, co] });
      }
      const flipped = scope.run("Reverse", { x: filter }, { dims: [0, 1] });
      const swapped = scope.run("Transpose", { x: flipped }, { perm: [0, 1, 3, 2] });
      return signedPadConv2d(scope, spread, swapped, [1, 1], inputGradPadding(conv), conv.inHeight, conv.inWidth);
    });
  };
}
