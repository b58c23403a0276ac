import * as tf from "@tensorflow/tfjs";
import { WasmHeap } from "./wasmHeap";

/**
 * Fused, in-place optimiser updates on the wasm backend: one call of fedtune's wasm `sgd_update` or `momentum_update`
 * (lib/kernels/wasm) per variable instead of two or four tfjs kernels, each with a new tensor and its bookkeeping.
 *
 * The arithmetic is tfjs's, operation by operation in float32 (θ − lr·g; v ← m·v + g, θ − lr·v), so a step gives the
 * same bits as the tfjs ops. The update writes into the variable's (and velocity's) buffer, which is only safe when
 * nothing else shares it: each function returns false, having changed nothing, unless the backend is wasm, every
 * tensor is float32 and of the variable's size, and the variable and velocity are the only holders of their data
 * (tfjs's refcount is 1). The caller then runs its tfjs ops.
 *
 * The backend caches XNNPACK operators (with the packed filter or matrix) by a tensor's numeric id, trusting that a
 * tensor's data never changes; tfjs's own `assign` gives the variable a new tensor, hence a new id, every step. So after
 * writing in place the variable's data gets a fresh id (its old one is dropped from the backend's registry with the
 * operators cached for it, its memory is kept): every kernel sees a new tensor, as after `assign`.
 */

/** The parts of tfjs-backend-wasm's `BackendWasm` this file uses (not exported as types). */
interface WasmBackendIds {
  refCount(dataId: object): number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  wasm: { tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void } };
}

let enabled = true;

/** Turns the fused updates on or off for this thread (for side-by-side measurement); returns the previous setting. */
export function useFusedSgdUpdates(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

function wasmHeapFor(tensors: readonly tf.Tensor[], owned: readonly tf.Tensor[]): WasmHeap | undefined {
  if (!enabled || tf.getBackend() !== "wasm") return undefined;
  const size = tensors[0].size;
  if (size === 0 || tensors.some((t) => t.dtype !== "float32" || t.size !== size || t.isDisposed)) return undefined;
  const backend = tf.backend() as unknown as WasmBackendIds;
  if (typeof backend.refCount !== "function" || typeof backend.wasm?.tfjs?.registerTensor !== "function") return undefined;
  if (owned.some((t) => backend.refCount(t.dataId) !== 1)) return undefined;
  const ids = new Set(tensors.map((t) => t.dataId));
  if (ids.size !== tensors.length) return undefined;
  return new WasmHeap(backend, "sgdUpdate");
}

/** Gives the data of `t` a new id on the backend, as if it were a new tensor (see above). */
function renew(t: tf.Tensor): void {
  const backend = tf.backend() as unknown as WasmBackendIds;
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`sgdUpdate: tensor ${t.id} has no data on the wasm backend`);
  backend.wasm.tfjs.disposeData(data.id);
  data.id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(data.id, t.size, data.memoryOffset);
}

/** θ ← θ − lr·g in place on the wasm backend; false (nothing changed) where that is not possible, see above. */
export function sgdUpdateInPlace(variable: tf.Variable, grad: tf.Tensor, learningRate: number): boolean {
  const heap = wasmHeapFor([variable, grad], [variable]);
  if (heap === undefined) return false;
  heap.kernels.sgd_update(heap.offset(variable), heap.offset(grad), variable.size, learningRate);
  renew(variable);
  return true;
}

/** v ← m·v + g, then θ ← θ − lr·v, in place on the wasm backend; false (nothing changed) where not possible. */
export function momentumUpdateInPlace(variable: tf.Variable, velocity: tf.Tensor, grad: tf.Tensor, learningRate: number,
  momentum: number): boolean {
  const heap = wasmHeapFor([variable, velocity, grad], [variable, velocity]);
  if (heap === undefined) return false;
  heap.kernels.momentum_update(heap.offset(variable), heap.offset(velocity), heap.offset(grad), variable.size, learningRate, momentum);
  renew(variable);
  renew(velocity);
  return true;
}
