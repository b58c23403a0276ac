/**
 * Gradients of Relu and Softmax (last axis) as one fedtune wasm kernel each, where tfjs composes them of small kernels:
 * Relu's dy·cast(step(x)) is Step + Cast + Multiply, Softmax's dy·y − Σ(dy·y)·y is Multiply + Sum + Multiply + Sub.
 * `relu_grad` and `softmax_grad` (fedtune_kernels.c) do the same float32 operations in the same order, so the result
 * is the same bit for bit; each call saves the engine's and the tape's bookkeeping of the kernels it replaces.
 *
 * tfjs keeps one gradient per kernel name for all backends: the configs here delegate to tfjs's own gradient whenever
 * the fedtune kernel is not registered on the current backend, or the case is not the one it covers.
 */
import * as tf from "@tensorflow/tfjs";
import { WasmHeap } from "./wasmHeap";

/** Kernel name of Relu's gradient: inputs `dy`, `x` (same shape, float32). */
export const RELU_GRAD = "FedtuneReluGrad";
/** Kernel name of Softmax's gradient over the last axis: inputs `dy`, `y` (same shape, float32). */
export const SOFTMAX_GRAD = "FedtuneSoftmaxGrad";

function sameFloatShapes(kernel: string, a: tf.TensorInfo, b: tf.TensorInfo): number {
  if (a.dtype !== "float32" || b.dtype !== "float32" || !tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`${kernel}: inputs must be float32 of one shape, got ${a.dtype} [${a.shape.join(",")}] and ${b.dtype} [${b.shape.join(",")}]`);
  }
  return tf.util.sizeFromShape(a.shape);
}

/** Relu's gradient on wasm. */
export function reluGradWasm(): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const size = sameFloatShapes(RELU_GRAD, dy, x);
    const heap = new WasmHeap(backend, RELU_GRAD);
    const out = heap.output([...dy.shape]);
    if (size > 0) heap.kernels.relu_grad(heap.offset(dy), heap.offset(x), heap.offset(out), size);
    return out;
  };
}

/** Softmax's gradient over the last axis on wasm. */
export function softmaxGradWasm(): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
    const size = sameFloatShapes(SOFTMAX_GRAD, dy, y);
    const heap = new WasmHeap(backend, SOFTMAX_GRAD);
    const out = heap.output([...dy.shape]);
    const c = dy.shape[dy.shape.length - 1] ?? 1;
    if (size > 0) heap.kernels.softmax_grad(heap.offset(dy), heap.offset(y), heap.offset(out), size / c, c);
    return out;
  };
}

const onThisBackend = (kernelName: string) => tf.getKernel(kernelName, tf.getBackend()) !== undefined;

/** Relu's gradient config: RELU_GRAD where registered for float32, else `original`'s (tfjs's). */
function reluGradConfig(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const single = dy as tf.Tensor;
      if (!onThisBackend(RELU_GRAD) || x.dtype !== "float32" || single.dtype !== "float32") return original.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: single, x }, {}) as tf.Tensor };
    },
  };
}

/** Softmax's gradient config: SOFTMAX_GRAD for the last axis where registered, else `original`'s (tfjs's). */
function softmaxGradConfig(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved;
      const single = dy as tf.Tensor;
      const { dim } = attrs as unknown as tf.SoftmaxAttrs;
      const lastAxis = dim === -1 || dim === y.rank - 1;
      if (!onThisBackend(SOFTMAX_GRAD) || !lastAxis || y.dtype !== "float32" || single.dtype !== "float32") return original.gradFunc(dy, saved, attrs);
      return { logits: () => tf.engine().runKernel(SOFTMAX_GRAD, { dy: single, y }, {}) as tf.Tensor };
    },
  };
}

/** tfjs's own configs, kept when fedtune's replace them (registration is idempotent). */
const originals = new Map<string, tf.GradConfig>();

/** Puts the delegating Relu and Softmax gradient configs in place of tfjs's (once). */
export function registerActivationGradients(): void {
  for (const [name, wrap] of [["Relu", reluGradConfig], ["Softmax", softmaxGradConfig]] as const) {
    if (originals.has(name)) continue;
    const original = tf.getGradient(name);
    if (original === undefined) throw new Error(`registerActivationGradients: tfjs has no gradient for ${name}`);
    originals.set(name, original);
    tf.registerGradient(wrap(original));
  }
}
