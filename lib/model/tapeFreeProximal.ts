/**
 * The proximal term μ/2·Σᵢ‖θᵢ − θᵢ_ref‖² (FedProx's μ, Ditto's λ) for the tape-free step (tapeFreeStep.ts), replayed as
 * the Trainer's tape runs it: forward Sub, Square, Sum per variable, AddN of the sums, Multiply by μ/2, Add to the mean
 * cross-entropy; backward, per variable, tfjs's Square gradient dy·(x·2) with dy = μ/2 (Add passes the seed 1 on,
 * Multiply's gradient is 1·μ/2, Sum's broadcasts it with a multiplication by ones — all exact), then Add to the
 * cross-entropy's gradient (the tape's accumulation; float32 addition is commutative, so its order does not matter).
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelScope } from "../kernels/kernelScope";
import type { WasmHeap } from "../kernels/wasmHeap";

/** μ/2 and θ_ref of the proximal term; references[i] belongs to the step's variables[i]. */
export interface ProximalSetting {
  /** μ/2 as a float32 scalar tensor (the Trainer's `muHalf`). */
  readonly muHalf: tf.Scalar;
  /** θ_ref per variable, in the step's variable order. */
  readonly references: readonly tf.Tensor[];
}

/** The term's forward replay on `variables`: the objective (loss + term) and a function adding its gradients. */
export function proximalForward(scope: KernelScope, heap: WasmHeap, setting: ProximalSetting, variables: readonly tf.Variable[],
  loss: tf.TensorInfo): { objective: tf.TensorInfo; addGradients(grads: readonly tf.TensorInfo[]): tf.TensorInfo[] } {
  const diffs = variables.map((v, i) => scope.run("Sub", { a: v, b: setting.references[i] }));
  const sums = diffs.map((d) => scope.run("Sum", { x: scope.run("Square", { x: d }) }, { axis: null, keepDims: false } as unknown as tf.NamedAttrMap));
  // tf.addN hands the kernel its inputs as an array (tfjs-backend-wasm's AddN maps over them).
  const distance = scope.run("AddN", sums as unknown as tf.NamedTensorInfoMap);
  const objective = scope.run("Add", { a: loss, b: scope.run("Multiply", { a: setting.muHalf, b: distance }) });
  return {
    objective,
    addGradients(grads) {
      const two = scope.adopt(heap.output([]));
      heap.view(two)[0] = 2;
      return grads.map((g, i) => {
        const twice = scope.run("Multiply", { a: diffs[i], b: two });
        const term = scope.run("Multiply", { a: setting.muHalf, b: twice });
        return scope.run("Add", { a: g, b: term });
      });
    },
  };
}
