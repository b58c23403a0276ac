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

/** A gradient kernel on wasm over two float32 inputs of one shape (dy and the saved tensor `other`), calling `run`. */
function elementwiseGradWasm(kernel: string, other: string,
  run: (heap: WasmHeap, dy: number, saved: number, out: number, shape: readonly number[], size: number) => void): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { dy } = inputs as { dy: tf.TensorInfo };
    const saved = (inputs as Record<string, tf.TensorInfo>)[other];
    const size = sameFloatShapes(kernel, dy, saved);
    const heap = new WasmHeap(backend, kernel);
    const out = heap.output([...dy.shape]);
    if (size > 0) run(heap, heap.offset(dy), heap.offset(saved), heap.offset(out), dy.shape, size);
    return out;
  };
}

/** Relu's gradient on wasm. */
export function reluGradWasm(): tf.KernelFunc {
  return elementwiseGradWasm(RELU_GRAD, "x", (heap, dy, x, out, _shape, size) => heap.kernels.relu_grad(dy, x, out, size));
}

/** Softmax's gradient over the last axis on wasm. */
export function softmaxGradWasm(): tf.KernelFunc {
  return elementwiseGradWasm(SOFTMAX_GRAD, "y", (heap, dy, y, out, shape, size) => {
    const c = shape[shape.length - 1];
    heap.kernels.softmax_grad(dy, y, out, size / c, c);
  });
}

const onThisBackend = (kernelName: string) => tf.getKernel(kernelName, tf.getBackend()) !== undefined;

/**
 * A gradient config that runs fedtune's `kernel` on (dy, the saved tensor as `savedName`) and returns it as the gradient
 * of `inputName`, when the kernel is registered on the current backend, both are float32 and `applies(attrs, saved)`;
 * else `original`'s (tfjs's).
 */
function delegatingGradConfig(original: tf.GradConfig, kernel: string, inputName: string, savedName: string,
  applies: (attrs: tf.NamedAttrMap, saved: tf.Tensor) => boolean): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const single = dy as tf.Tensor;
      const [t] = saved;
      if (!onThisBackend(kernel) || t.dtype !== "float32" || single.dtype !== "float32" || !applies(attrs, t)) return original.gradFunc(dy, saved, attrs);
      return { [inputName]: () => tf.engine().runKernel(kernel, { dy: single, [savedName]: t }, {}) as tf.Tensor };
    },
  };
}

/** Relu's gradient (saved input x): RELU_GRAD. */
const reluGradConfig = (original: tf.GradConfig) => delegatingGradConfig(original, RELU_GRAD, "x", "x", () => true);

/** Softmax's gradient (saved output y): SOFTMAX_GRAD over the last axis. */
const softmaxGradConfig = (original: tf.GradConfig) => delegatingGradConfig(original, SOFTMAX_GRAD, "logits", "y", (attrs, y) => {
  const { dim } = attrs as unknown as tf.SoftmaxAttrs;
  return dim === -1 || dim === y.rank - 1;
});

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
