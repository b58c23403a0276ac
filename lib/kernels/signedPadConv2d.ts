import * as tf from "@tensorflow/tfjs";
import { KernelScope } from "./kernelScope";
import { SignedPadding } from "./convGeometry";

/**
 * A stride-1 NHWC Conv2D whose padding may be negative (a crop), producing exactly `outHeight` × `outWidth`.
 * Negative amounts are run as zero padding and the surplus output rows/columns are sliced off afterwards: an output
 * row only depends on its own window, so dropping rows at the edge is the same as cropping the input there.
 */
export function signedPadConv2d(
  scope: KernelScope,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  dilations: [number, number],
  pad: SignedPadding,
  outHeight: number,
  outWidth: number,
): tf.TensorInfo {
  const explicit = [
    [0, 0],
    [Math.max(0, pad.top), Math.max(0, pad.bottom)],
    [Math.max(0, pad.left), Math.max(0, pad.right)],
    [0, 0],
  ];
  const conv = scope.run("Conv2D", { x, filter }, {
    strides: [1, 1],
    pad: explicit,
    dataFormat: "NHWC",
    dilations,
    dimRoundingMode: "floor",
  });
  const cropTop = Math.max(0, -pad.top);
  const cropLeft = Math.max(0, -pad.left);
  if (conv.shape[1] === outHeight && conv.shape[2] === outWidth) return conv;
  return scope.run("Slice", { x: conv }, {
    begin: [0, cropTop, cropLeft, 0],
    size: [conv.shape[0], outHeight, outWidth, conv.shape[3]],
  });
}
