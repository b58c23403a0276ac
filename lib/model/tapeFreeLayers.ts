/**
 * The layers a tape-free training step (tapeFreeStep.ts) knows, each as a replay of what tfjs runs for it while it
 * records gradients: the same kernels, with the same inputs and attributes, forward and backward. tfjs's Reshapes
 * become new shapes on the same data and its Identity clones of saved tensors disappear; every other kernel call is
 * kept, so every value is computed by the same float32 operations in the same order as under `tf.variableGrads`.
 *
 * What each layer replays (tfjs-layers 4 under a gradient tape, where `fused.matMul`/`fused.conv2d` with a ReLU do not
 * fuse, and tfjs-core's gradient functions, with fedtune's Relu and Softmax gradient kernels):
 * - Dense + ReLU: BatchMatMul(x, W), Add(·, b), Relu; back: ReluGrad(dy, z), Sum(dz, [0]) for b, BatchMatMul(xᵀ, dz)
 *   for W, BatchMatMul(dz, Wᵀ) for x.
 * - Dense + softmax (a softmax head): _FusedMatMul on [1, n, k]·[1, k, u] (linear, no bias), Add(·, b), Softmax; back:
 *   SoftmaxGrad(dy, p), Sum for b, BatchMatMul(a3ᵀ, dz3) for W, BatchMatMul(dz3, b3ᵀ) for x.
 * - Conv2D + ReLU (channels last, dilation 1): Conv2D, Add(·, b), Relu; back: ReluGrad, Sum(dz, [0, 1, 2]) for b,
 *   Conv2DBackpropFilter for the filter, Conv2DBackpropInput for x.
 * - MaxPooling2D (channels last): MaxPool; back: MaxPoolGrad(dy, x, y).
 * - Flatten: a new shape, both ways.
 * Anything else (another activation, a regulariser, a constraint, a call hook, channels first, another layer class)
 * has no replay: `tapeFreeLayer` returns undefined and the Trainer keeps the tape.
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelScope } from "../kernels/kernelScope";
import { RELU_GRAD, SOFTMAX_GRAD } from "../kernels/activationGrads";

type Info = tf.TensorInfo;

/** A weight's gradient from a layer's backward pass (a backend tensor of the variable's size). */
export interface WeightGradient {
  /** The variable (what `LayerVariable.read()` returns). */
  readonly variable: tf.Variable;
  /** dL/dvariable, possibly under another shape of the same size (a [1, k, u] product). */
  readonly grad: Info;
}

/** One layer's backward replay: dL/dy in, dL/dx out when `needDx` (else undefined); weight gradients go to `grads`. */
export type LayerBackward = (dy: Info, needDx: boolean, grads: WeightGradient[]) => Info | undefined;

/** One layer of a tape-free step. */
export interface TapeFreeLayer {
  /** The variables this layer trains (empty when frozen), in the layer's own order. */
  readonly trainedVariables: readonly tf.Variable[];
  /** Runs the layer's forward kernels on `x` in `scope`; returns the output and the backward replay. */
  forward(scope: KernelScope, x: Info): { y: Info; backward: LayerBackward };
}

/** `x`'s data under another shape (what tfjs's Reshape kernel returns, without a call). */
function reshaped(x: Info, shape: number[]): Info {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** The fields of tfjs-layers' layers read here (public at run time, not in the type declarations). */
interface LayerFields {
  readonly strides?: number[];
  readonly padding?: string;
  readonly dilationRate?: number | number[];
  readonly dataFormat?: string;
  readonly poolSize?: number[];
  readonly _callHook?: unknown;
}

interface LayerConfig {
  readonly activation?: string;
  readonly useBias?: boolean;
  readonly dataFormat?: string;
  readonly kernelRegularizer?: unknown;
  readonly biasRegularizer?: unknown;
  readonly activityRegularizer?: unknown;
  readonly kernelConstraint?: unknown;
  readonly biasConstraint?: unknown;
}

/** Kernel and optional bias of a Dense or Conv2D layer, or undefined when a regulariser or constraint is set. */
function plainWeights(layer: tf.layers.Layer, config: LayerConfig): { kernel: tf.Variable; bias?: tf.Variable; trained: tf.Variable[] } | undefined {
  if (config.kernelRegularizer != null || config.biasRegularizer != null || config.activityRegularizer != null ||
    config.kernelConstraint != null || config.biasConstraint != null) return undefined;
  const weights = layer.weights;
  const useBias = config.useBias !== false;
  if (weights.length !== (useBias ? 2 : 1) || weights.some((w) => w.dtype !== "float32")) return undefined;
  const trainable = layer.trainable ? layer.trainableWeights : [];
  // Every weight trains or none does (the Trainer freezes whole layers).
  if (trainable.length !== 0 && trainable.length !== weights.length) return undefined;
  const kernel = weights[0].read() as tf.Variable;
  const bias = useBias ? (weights[1].read() as tf.Variable) : undefined;
  return { kernel, bias, trained: trainable.length > 0 ? weights.map((w) => w.read() as tf.Variable) : [] };
}

const inputRank = (layer: tf.layers.Layer): number | undefined => {
  try {
    const shape = layer.inputSpec?.[0]?.ndim ?? (layer.input as tf.SymbolicTensor).shape.length;
    return shape;
  } catch {
    return undefined; // a layer used more than once has no single input
  }
};

/** The replay of `layer` (`isLast`: the model's output layer), or undefined when the tape must run it. */
export function tapeFreeLayer(layer: tf.layers.Layer, isLast: boolean): TapeFreeLayer | undefined {
  const fields = layer as unknown as LayerFields;
  if (fields._callHook != null || (layer.dtype != null && layer.dtype !== "float32")) return undefined;
  const config = layer.getConfig() as LayerConfig;
  switch (layer.getClassName()) {
    case "Dense": {
      const w = plainWeights(layer, config);
      if (w === undefined || inputRank(layer) !== 2) return undefined;
      if (config.activation === "relu") return denseRelu(w.kernel, w.bias, w.trained);
      if (config.activation === "softmax" && isLast) return denseSoftmax(w.kernel, w.bias, w.trained);
      return undefined;
    }
    case "Conv2D": {
      const w = plainWeights(layer, config);
      const dilations = typeof fields.dilationRate === "number" ? [fields.dilationRate, fields.dilationRate] : fields.dilationRate;
      if (w === undefined || config.activation !== "relu" || fields.dataFormat !== "channelsLast" || inputRank(layer) !== 4 ||
        fields.strides === undefined || dilations === undefined || dilations.some((d) => d !== 1) ||
        (fields.padding !== "valid" && fields.padding !== "same")) return undefined;
      return conv2dRelu(w.kernel, w.bias, w.trained, fields.strides, fields.padding, dilations);
    }
    case "MaxPooling2D": {
      if (fields.dataFormat !== "channelsLast" || inputRank(layer) !== 4 || fields.poolSize === undefined || fields.strides === undefined ||
        (fields.padding !== "valid" && fields.padding !== "same")) return undefined;
      return maxPool(fields.poolSize, fields.strides, fields.padding);
    }
    case "Flatten":
      return config.dataFormat === "channelsFirst" ? undefined : flatten();
    default:
      return undefined;
  }
}

/** Bias gradient: Sum of dz over every axis but the last (Add's gradient for a broadcast bias). */
function biasGradient(scope: KernelScope, dz: Info): Info {
  const axis = dz.shape.slice(0, -1).map((_, i) => i);
  return scope.run("Sum", { x: dz }, { axis, keepDims: false });
}

/** How a ReLU layer computes its linear part: the product, and its gradients with respect to the kernel and the input. */
interface LinearPart {
  product(scope: KernelScope, x: Info): Info;
  kernelGradient(scope: KernelScope, x: Info, dz: Info): Info;
  inputGradient(scope: KernelScope, x: Info, dz: Info): Info;
}

/** product(x, kernel) + bias, then ReLU — Dense and Conv2D under tfjs's unfused path — and its backward replay. */
function reluLayer(kernel: tf.Variable, bias: tf.Variable | undefined, trained: tf.Variable[], linear: LinearPart): TapeFreeLayer {
  return {
    trainedVariables: trained,
    forward(scope, x) {
      const product = linear.product(scope, x);
      const z = bias ? scope.run("Add", { a: product, b: bias }) : product;
      const y = scope.run("Relu", { x: z });
      return {
        y,
        backward(dy, needDx, grads) {
          const dz = scope.run(RELU_GRAD, { dy, x: z });
          if (trained.length > 0) {
            if (bias) grads.push({ variable: bias, grad: biasGradient(scope, dz) });
            grads.push({ variable: kernel, grad: linear.kernelGradient(scope, x, dz) });
          }
          return needDx ? linear.inputGradient(scope, x, dz) : undefined;
        },
      };
    },
  };
}

function denseRelu(kernel: tf.Variable, bias: tf.Variable | undefined, trained: tf.Variable[]): TapeFreeLayer {
  return reluLayer(kernel, bias, trained, {
    product: (scope, x) => scope.run("BatchMatMul", { a: x, b: kernel }, { transposeA: false, transposeB: false }),
    kernelGradient: (scope, x, dz) => scope.run("BatchMatMul", { a: x, b: dz }, { transposeA: true, transposeB: false }),
    inputGradient: (scope, _x, dz) => scope.run("BatchMatMul", { a: dz, b: kernel }, { transposeA: false, transposeB: true }),
  });
}

function denseSoftmax(kernel: tf.Variable, bias: tf.Variable | undefined, trained: tf.Variable[]): TapeFreeLayer {
  return {
    trainedVariables: trained,
    forward(scope, x) {
      const n = x.shape[0];
      const k = x.shape[1];
      const units = (kernel.shape as number[])[1];
      // tfjs's fused.matMul reshapes both operands to rank 3 and runs _FusedMatMul (linear, no bias).
      const a3 = reshaped(x, [1, n, k]);
      const b3 = reshaped(kernel, [1, k, units]);
      const product = reshaped(scope.run("_FusedMatMul", { a: a3, b: b3 },
        { transposeA: false, transposeB: false, activation: "linear", leakyreluAlpha: 0.2 }), [n, units]);
      const z = bias ? scope.run("Add", { a: product, b: bias }) : product;
      const p = scope.run("Softmax", { logits: z }, { dim: 1 });
      return {
        y: p,
        backward(dy, needDx, grads) {
          const dz = scope.run(SOFTMAX_GRAD, { dy, y: p });
          const dz3 = reshaped(dz, [1, n, units]);
          if (trained.length > 0) {
            if (bias) grads.push({ variable: bias, grad: biasGradient(scope, dz) });
            grads.push({ variable: kernel, grad: scope.run("BatchMatMul", { a: a3, b: dz3 }, { transposeA: true, transposeB: false }) });
          }
          if (!needDx) return undefined;
          return reshaped(scope.run("BatchMatMul", { a: dz3, b: b3 }, { transposeA: false, transposeB: true }), [n, k]);
        },
      };
    },
  };
}

function conv2dRelu(filter: tf.Variable, bias: tf.Variable | undefined, trained: tf.Variable[], strides: number[], pad: string,
  dilations: number[]): TapeFreeLayer {
  const attrs = (extra: object) => ({ strides, pad, dataFormat: "NHWC", dimRoundingMode: undefined, ...extra }) as unknown as tf.NamedAttrMap;
  return reluLayer(filter, bias, trained, {
    product: (scope, x) => scope.run("Conv2D", { x, filter }, attrs({ dilations })),
    kernelGradient: (scope, x, dz) => scope.run("Conv2DBackpropFilter", { x, dy: dz }, attrs({ filterShape: filter.shape })),
    inputGradient: (scope, x, dz) => scope.run("Conv2DBackpropInput", { dy: dz, filter }, attrs({ inputShape: x.shape })),
  });
}

function maxPool(filterSize: number[], strides: number[], pad: string): TapeFreeLayer {
  const attrs = { filterSize, strides, pad, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
  return {
    trainedVariables: [],
    forward(scope, x) {
      const y = scope.run("MaxPool", { x }, attrs);
      return {
        y,
        backward: (dy, needDx) => (needDx ? scope.run("MaxPoolGrad", { dy, input: x, output: y }, attrs) : undefined),
      };
    },
  };
}

function flatten(): TapeFreeLayer {
  return {
    trainedVariables: [],
    forward(_scope, x) {
      const y = reshaped(x, [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)]);
      return { y, backward: (dy, needDx) => (needDx ? reshaped(dy, [...x.shape]) : undefined) };
    },
  };
}
