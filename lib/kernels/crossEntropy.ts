/**
 * Cross-entropy of class probabilities (a softmax head's output) against integer labels, as one kernel and one
 * gradient kernel on tfjs-backend-wasm, with the float32 arithmetic of the tfjs ops it replaces, in their order:
 *
 *   loss[i] = −Σ_c onehot(labels[i])[c] · log(clip(p[i, c], ε, 1 − ε))          (sum over c from 0, in float32)
 *   dp[i, c] = ε ≤ p[i, c] ≤ 1 − ε ? ((−dy[i] · 1) · onehot[c]) / clip(p[i, c]) : 0
 *
 * Why: composed from tfjs ops (OneHot, Cast, ClipByValue, Log, Multiply, Sum, Neg, and in the backward pass Neg,
 * Multiply, Cast, Multiply, Cast, RealDiv, GreaterEqual, LessEqual, LogicalAnd, ZerosLike, Select) the loss costs 18
 * kernel calls per step, each with the engine's and the gradient tape's bookkeeping, for a few hundred floats: about
 * a tenth of the MLP 784-128-10's step at batch 64. Every operation but the logarithm is a single IEEE float32
 * operation, done here in JavaScript on float32 values (a double result rounded once to float32 is the float32
 * result for +, ×, ÷, negation and comparisons); the logarithm runs on the backend's own Log kernel, so it rounds as
 * before. Same bits as the composition (test/kernels/crossEntropy.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { withKernelScope } from "./kernelScope";
import { WasmHeap } from "./wasmHeap";

/** The forward kernel's name: inputs `probabilities` [n, classes] float32 and `labels` [n] int32; output [n]. */
export const CROSS_ENTROPY = "FedtuneCrossEntropyProbabilities";
/** The gradient kernel's name: inputs `dy` [n], `probabilities`, `labels`; output dL/dprobabilities [n, classes]. */
export const CROSS_ENTROPY_GRAD = "FedtuneCrossEntropyProbabilitiesGrad";

/** Attributes of both kernels: the clip ε of log(p) (a JavaScript number, rounded to float32 as tfjs does). */
export interface CrossEntropyAttrs {
  readonly epsilon: number;
}

interface HeapViews {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function checkInputs(kernel: string, p: tf.TensorInfo, labels: tf.TensorInfo): { n: number; classes: number } {
  if (p.dtype !== "float32" || p.shape.length !== 2) throw new Error(`${kernel}: probabilities must be float32 [n, classes], got ${p.dtype} [${p.shape.join(",")}]`);
  if (labels.dtype !== "int32" || labels.shape.length !== 1 || labels.shape[0] !== p.shape[0]) {
    throw new Error(`${kernel}: labels must be int32 [${p.shape[0]}], got ${labels.dtype} [${labels.shape.join(",")}]`);
  }
  return { n: p.shape[0], classes: p.shape[1] };
}

/** The forward kernel on wasm. */
export function crossEntropyWasm(): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { probabilities: p, labels } = inputs as { probabilities: tf.TensorInfo; labels: tf.TensorInfo };
    const { n, classes } = checkInputs(CROSS_ENTROPY, p, labels);
    const { epsilon } = attrs as unknown as CrossEntropyAttrs;
    const lo = Math.fround(epsilon);
    const hi = Math.fround(1 - epsilon);
    const heap = new WasmHeap(backend, CROSS_ENTROPY);
    const views = backend as unknown as HeapViews;
    return withKernelScope(backend, "wasm", (scope) => {
      // clip(p) as ClipByValue computes it (max then min against the float32 bounds), then the backend's own log.
      const clipped = scope.adopt(heap.output([n, classes]));
      const pv = views.typedArrayFromHeap(p) as Float32Array;
      const cv = views.typedArrayFromHeap(clipped) as Float32Array;
      for (let k = 0; k < pv.length; k++) cv[k] = Math.min(Math.max(pv[k], lo), hi);
      const logP = scope.run("Log", { x: clipped });
      const out = heap.output([n]);
      const lv = views.typedArrayFromHeap(logP) as Float32Array;
      const yv = views.typedArrayFromHeap(labels) as Int32Array;
      const ov = views.typedArrayFromHeap(out) as Float32Array;
      for (let i = 0; i < n; i++) {
        const y = yv[i];
        let s = 0;
        for (let c = 0, k = i * classes; c < classes; c++, k++) s = Math.fround(s + (c === y ? lv[k] : lv[k] * 0));
        ov[i] = -s;
      }
      return scope.adopt(out);
    });
  };
}

/** The gradient kernel on wasm. */
export function crossEntropyGradWasm(): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, probabilities: p, labels } = inputs as { dy: tf.TensorInfo; probabilities: tf.TensorInfo; labels: tf.TensorInfo };
    const { n, classes } = checkInputs(CROSS_ENTROPY_GRAD, p, labels);
    if (dy.dtype !== "float32" || dy.shape.length !== 1 || dy.shape[0] !== n) {
      throw new Error(`${CROSS_ENTROPY_GRAD}: dy must be float32 [${n}], got ${dy.dtype} [${dy.shape.join(",")}]`);
    }
    const { epsilon } = attrs as unknown as CrossEntropyAttrs;
    const lo = Math.fround(epsilon);
    const hi = Math.fround(1 - epsilon);
    const heap = new WasmHeap(backend, CROSS_ENTROPY_GRAD);
    const views = backend as unknown as HeapViews;
    const out = heap.output([n, classes]);
    const dv = views.typedArrayFromHeap(dy) as Float32Array;
    const pv = views.typedArrayFromHeap(p) as Float32Array;
    const yv = views.typedArrayFromHeap(labels) as Int32Array;
    const ov = views.typedArrayFromHeap(out) as Float32Array;
    for (let i = 0; i < n; i++) {
      const g = -dv[i] * 1; // Neg, then Sum's gradient: dy broadcast by multiplying with ones
      const y = yv[i];
      for (let c = 0, k = i * classes; c < classes; c++, k++) {
        const x = pv[k];
        const clipped = Math.min(Math.max(x, lo), hi);
        // Multiply by the one-hot row (g·1 or g·0, a signed zero), RealDiv by the clipped input, Select on the clip's range.
        ov[k] = x >= lo && x <= hi ? Math.fround((c === y ? g : g * 0) / clipped) : 0;
      }
    }
    return out;
  };
}

/** The gradient of CROSS_ENTROPY with respect to the probabilities (the labels get none: they are integers). */
export const crossEntropyGradConfig: tf.GradConfig = {
  kernelName: CROSS_ENTROPY,
  inputsToSave: ["probabilities", "labels"],
  gradFunc: (dy, saved, attrs) => {
    const [p, labels] = saved;
    return {
      probabilities: () => tf.engine().runKernel(CROSS_ENTROPY_GRAD, { dy: dy as tf.Tensor, probabilities: p, labels }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  },
};
