import * as tf from "@tensorflow/tfjs";

/** The padding of a 2-D convolution as four signed amounts (negative = crop), rows then columns. */
export interface SignedPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** What the gradient kernels need to know about the forward convolution, checked once. */
export interface ForwardConv {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** The forward pass's padding as actually applied (SAME resolved to numbers). */
  pad: SignedPadding;
}

type ConvPad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

/**
 * Resolves the forward convolution of a Conv2D gradient kernel, refusing what the fast paths do not implement.
 * `who` names the kernel in errors.
 */
export function forwardConv(
  who: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | readonly number[],
  pad: ConvPad,
  dataFormat: string | undefined,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
): ForwardConv {
  if (dataFormat !== undefined && dataFormat !== "NHWC") {
    throw new Error(`${who}: only dataFormat 'NHWC' is implemented on wasm, got '${dataFormat}'`);
  }
  if (xShape.length !== 4) throw new Error(`${who}: input must be rank 4 (NHWC), got shape [${xShape.join(",")}]`);
  if (filterShape.length !== 4) {
    throw new Error(`${who}: filter must be rank 4 [h,w,in,out], got shape [${filterShape.join(",")}]`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides as number | [number, number],
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(`${who}: dilations other than 1 are not implemented, got [${info.dilationHeight},${info.dilationWidth}]`);
  }
  if (info.inChannels !== filterShape[2]) {
    throw new Error(`${who}: input has ${info.inChannels} channels but the filter expects ${filterShape[2]}`);
  }
  return {
    batchSize: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    pad: { top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right },
  };
}

/** Throw unless `dyShape` is the forward convolution's output shape (both gradient kernels take dy). */
export function checkDyShape(kernel: string, dyShape: readonly number[], conv: ForwardConv): void {
  if (dyShape.length !== 4 || dyShape[1] !== conv.outHeight || dyShape[2] !== conv.outWidth ||
    dyShape[3] !== conv.outChannels || dyShape[0] !== conv.batchSize) {
    throw new Error(`${kernel}: dy has shape [${dyShape.join(",")}] but the forward output is ` +
      `[${conv.batchSize},${conv.outHeight},${conv.outWidth},${conv.outChannels}]`);
  }
}

/** The window geometry every patch kernel (im2col, im2col_t, col2im) takes after its two pointers: n, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl. */
export type PatchGeometry = [number, number, number, number, number, number, number, number, number, number, number, number];

/** `conv` as the patch kernels' geometry arguments, in their order. */
export function patchGeometry(conv: ForwardConv): PatchGeometry {
  return [conv.batchSize, conv.inHeight, conv.inWidth, conv.inChannels, conv.outHeight, conv.outWidth, conv.filterHeight,
    conv.filterWidth, conv.strideHeight, conv.strideWidth, conv.pad.top, conv.pad.left];
}

/**
 * Shortest run of contiguous input floats (kw·Ci) from which a convolution kernel builds its patch matrix row by row
 * (`im2col`, [P, K], whole runs copied); below it, the transposed matrix (`im2col_t`, [K, P]) is faster to build, and
 * the product reads whichever layout it got (`matmul` or `matmul_ta`). For the issue-15 CNN's second convolution
 * (kw·Ci = 160) at batch 10, im2col takes 35 µs against im2col_t's 685 µs; for its first (grey input, kw·Ci = 5)
 * im2col_t takes 48 µs against 131 µs. The products are the same sums in the same order either way: the same bits.
 */
export const ROW_LAYOUT_MIN_RUN = 16;
