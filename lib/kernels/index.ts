import * as tf from "@tensorflow/tfjs";
import { conv2dBackpropFilterVia } from "./conv2dBackpropFilter";
import { conv2dBackpropInputVia } from "./conv2dBackpropInput";
import { batchMatMulVia, fusedMatMulVia } from "./batchMatMul";
import { maxPoolGradWasm } from "./maxPoolGrad";
import { conv2dVia } from "./conv2d";
import { gatherV2Wasm } from "./gatherV2";
import { identityShared } from "./identity";
import { sumVia } from "./sum";
import { biasAddVia } from "./biasAdd";
import { registerActivationGradients, RELU_GRAD, reluGradWasm, SOFTMAX_GRAD, softmaxGradWasm } from "./activationGrads";
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD, crossEntropyGradConfig, crossEntropyGradWasm, crossEntropyWasm } from "./crossEntropy";

const BACKEND = "wasm";

/** The backend's own configs that fedtune replaced, so that `unregisterWasmTrainingKernels` can put them back. */
const replacedStockKernels = new Map<string, tf.KernelConfig>();

/**
 * The kernels fedtune adds to tfjs-backend-wasm so that its models train there, and fast: the conv filter gradient is
 * missing from the backend; its conv input gradient, its max-pool gradient and its matmul with a transposed operand
 * (every dense layer's gradients) are scalar loops that GEMMs on its XNNPACK MatMul, or a single JavaScript pass over
 * its heap, beat by ~10×; its Conv2D repacks the filter on every training step (and is wrong on strided shapes); its
 * GatherV2, which picks every batch out of the training set, works element by element (~65 ns each); its _FusedMatMul
 * packs a softmax head's kernel for XNNPACK on every step, as BatchMatMul did; its Identity
 * copies every tensor the gradient tape saves; its Sum transposes a bias gradient's dy before summing it; its Add
 * broadcasts a bias element by element. Two kernels
 * are fedtune's own: the cross-entropy of a softmax head's probabilities and its gradient, one call each instead of
 * 18 small ones (lib/model/loss.ts uses them where registered); and the gradients of Relu and Softmax, one kernel
 * each instead of three and four (lib/kernels/activationGrads.ts).
 */
const batchMatMul = batchMatMulVia(BACKEND, () => replacedStockKernels.get("BatchMatMul")?.kernelFunc);

const TRAINING_KERNELS: ReadonlyArray<{ kernelName: string; kernelFunc: tf.KernelFunc }> = [
  { kernelName: "Conv2DBackpropFilter", kernelFunc: conv2dBackpropFilterVia(BACKEND) },
  { kernelName: "Conv2DBackpropInput", kernelFunc: conv2dBackpropInputVia(BACKEND) },
  { kernelName: "BatchMatMul", kernelFunc: batchMatMul },
  { kernelName: "_FusedMatMul", kernelFunc: fusedMatMulVia(() => replacedStockKernels.get("_FusedMatMul")?.kernelFunc, batchMatMul) },
  { kernelName: "MaxPoolGrad", kernelFunc: maxPoolGradWasm() },
  { kernelName: "Conv2D", kernelFunc: conv2dVia(BACKEND, () => replacedStockKernels.get("Conv2D")?.kernelFunc) },
  { kernelName: "GatherV2", kernelFunc: gatherV2Wasm() },
  { kernelName: "Identity", kernelFunc: identityShared() },
  { kernelName: "Sum", kernelFunc: sumVia(() => replacedStockKernels.get("Sum")?.kernelFunc) },
  { kernelName: "Add", kernelFunc: biasAddVia(() => replacedStockKernels.get("Add")?.kernelFunc) },
  { kernelName: CROSS_ENTROPY, kernelFunc: crossEntropyWasm() },
  { kernelName: CROSS_ENTROPY_GRAD, kernelFunc: crossEntropyGradWasm() },
  { kernelName: RELU_GRAD, kernelFunc: reluGradWasm() },
  { kernelName: SOFTMAX_GRAD, kernelFunc: softmaxGradWasm() },
];

/**
 * Registers fedtune's training kernels on the "wasm" backend (idempotent: a second call changes nothing).
 * Returns the names of the fedtune kernels in effect after the call — the same list on every call.
 * Call it after `import "@tensorflow/tfjs-backend-wasm"`; the backend need not be initialised yet.
 */
export function registerWasmTrainingKernels(): string[] {
  // A gradient is registered for every backend at once; it is only used where the kernel itself is registered.
  if (tf.getGradient(CROSS_ENTROPY) === undefined) tf.registerGradient(crossEntropyGradConfig);
  registerActivationGradients();
  for (const { kernelName, kernelFunc } of TRAINING_KERNELS) {
    const current = tf.getKernel(kernelName, BACKEND) as tf.KernelConfig | undefined;
    if (current !== undefined && current.kernelFunc === kernelFunc) continue;
    if (current !== undefined) {
      // registerKernel warns and overwrites on a duplicate; unregistering first keeps the log clean.
      replacedStockKernels.set(kernelName, current);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    // A stock kernel that fedtune still calls binds its wasm function in setupFunc, which the engine runs when the
    // backend starts, for the kernels registered at that moment: keep it on the replacement so that registering
    // before `setBackend("wasm")` works too.
    const stock = replacedStockKernels.get(kernelName);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: stock?.setupFunc, disposeFunc: stock?.disposeFunc });
  }
  return TRAINING_KERNELS.map((k) => k.kernelName);
}

/** Removes fedtune's wasm kernels and restores any stock kernel they replaced (for side-by-side measurement). */
export function unregisterWasmTrainingKernels(): void {
  for (const { kernelName, kernelFunc } of TRAINING_KERNELS) {
    const current = tf.getKernel(kernelName, BACKEND) as tf.KernelConfig | undefined;
    if (current === undefined || current.kernelFunc !== kernelFunc) continue;
    tf.unregisterKernel(kernelName, BACKEND);
    const stock = replacedStockKernels.get(kernelName);
    if (stock !== undefined) tf.registerKernel(stock);
  }
}

/** Names of the kernels fedtune can provide on wasm, whether or not they are registered right now. */
export function wasmTrainingKernelNames(): string[] {
  return TRAINING_KERNELS.map((k) => k.kernelName);
}
