import * as tf from "@tensorflow/tfjs";
import { KernelScope, withKernelScope } from "./kernelScope";
import { WasmHeap } from "./wasmHeap";

/**
 * Largest row count (batch) for which a plain product runs on fedtune's wasm `matmul` instead of the backend's
 * XNNPACK one. Below it, XNNPACK's packing of b (redone whenever b is a new tensor, i.e. every training step)
 * dominates; above it, a b that stays the same (evaluating fixed weights on large batches) amortises its packing.
 * Where the native products run (lib/kernels/native.ts), ~4× XNNPACK's speed, every size is fedtune's.
 */
export const SMALL_M = 128;

/** Which operand of a matmul to transpose explicitly before running the plain (fast) product. */
export type MatMulPlan = "plain" | "transposeInputs" | "swapAndTransposeOutput";

/**
 * Chooses how to run op(A)·op(B) with op = optional transpose, for a backend whose BatchMatMul is fast only without
 * transposes (tfjs-backend-wasm: XNNPACK for the plain product, a scalar loop otherwise — 10–15× slower on a dense
 * layer's gradients). Either transpose the flagged inputs, or use op(A)·op(B) = (op(B)ᵀ·op(A)ᵀ)ᵀ, which transposes
 * the other input(s) and the output; whichever moves fewer elements. m×k·k×n are the logical product's sizes.
 */
export function planMatMul(transposeA: boolean, transposeB: boolean, m: number, k: number, n: number): MatMulPlan {
  if (!transposeA && !transposeB) return "plain";
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0);
  const swapped = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n;
  return direct <= swapped ? "transposeInputs" : "swapAndTransposeOutput";
}

function swapLastTwo(scope: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return scope.run("Transpose", { x }, { perm });
}

const rows = (shape: readonly number[]) => shape[shape.length - 2];
const batchOf = (shape: readonly number[]) => shape.slice(0, -2).reduce((x, y) => x * y, 1);

/**
 * a·b for untransposed float32 operands: fedtune's wasm `matmul` (no packing) when both hold one matrix and either a
 * has at most SMALL_M rows or b is a fresh tensor (`freshB`: a transposed operand or a gradient, which XNNPACK would
 * pack for this one call), else the backend's own plain BatchMatMul (`stock`).
 */
function plainProduct(scope: KernelScope, heap: WasmHeap, stock: tf.KernelFunc, a: tf.TensorInfo, b: tf.TensorInfo,
  freshB: boolean): tf.TensorInfo {
  const m = rows(a.shape);
  if ((m > SMALL_M && !freshB && !heap.nativeProducts) || batchOf(a.shape) !== 1 || batchOf(b.shape) !== 1) {
    return scope.runFunc("BatchMatMul", stock, { a, b }, { transposeA: false, transposeB: false });
  }
  const k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  if (b.shape[b.shape.length - 2] !== k) {
    throw new Error(`BatchMatMul: inner dimensions differ, a is [${a.shape.join(",")}] and b is [${b.shape.join(",")}]`);
  }
  const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = scope.adopt(heap.output([...batch, m, n]));
  heap.kernels.matmul(heap.offset(a), heap.offset(b), heap.offset(out), m, k, n);
  return out;
}

/** aᵀ·b for float32 operands holding one matrix each, a stored [k, m]: fedtune's wasm `matmul_ta`. */
function transposedAProduct(scope: KernelScope, heap: WasmHeap, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const k = rows(a.shape);
  const m = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  if (rows(b.shape) !== k) {
    throw new Error(`BatchMatMul: inner dimensions differ, aᵀ is [${m},${k}] and b is [${b.shape.join(",")}]`);
  }
  const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = scope.adopt(heap.output([...batch, m, n]));
  heap.kernels.matmul_ta(heap.offset(a), heap.offset(b), heap.offset(out), m, k, n);
  return out;
}

/**
 * BatchMatMul that turns transposed operands into explicit Transposes around a plain product: fedtune's wasm
 * `matmul` for training-sized products, else the backend's own plain BatchMatMul (`stock`, looked up when called
 * because registration may happen before the backend exists). A transposed left operand alone (aᵀ·b, one matrix each)
 * needs no Transpose: `matmul_ta` reads it in place.
 */
export function batchMatMulVia(backendName: string, stock: () => tf.KernelFunc | undefined): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    const plainMatMul = stock();
    if (plainMatMul === undefined) throw new Error(`BatchMatMul: the stock ${backendName} kernel is not available`);
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new Error(`BatchMatMul: inputs must be at least rank 2, got [${a.shape.join(",")}] and [${b.shape.join(",")}]`);
    }
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const plan = planMatMul(transposeA, transposeB, m, k, n);
    if (a.dtype !== "float32" || b.dtype !== "float32") {
      // Non-float inputs go to the stock kernel unchanged, which reports them in its own words.
      return plainMatMul({ inputs, backend, attrs });
    }
    const heap = new WasmHeap(backend, "BatchMatMul");
    // Large plain products on fixed weights (evaluation) amortise XNNPACK's packing, unless the native products run.
    if (plan === "plain" && m > SMALL_M && !heap.nativeProducts) return plainMatMul({ inputs, backend, attrs });
    // A transposed product is a gradient (dW = xᵀ·dy, dx = dy·Wᵀ): its right operand is new on every call, so XNNPACK's
    // packing of it never pays off, whatever the row count.
    return withKernelScope(backend, backendName, (scope) => {
      if (plan === "plain") return plainProduct(scope, heap, plainMatMul, a, b, false);
      if (transposeA && !transposeB && batchOf(a.shape) === 1 && batchOf(b.shape) === 1) {
        // aᵀ·b (a dense layer's weight gradient xᵀ·dy): a read in place, no Transpose of a nor of b and the output. The
        // same products summed in the same order as either plan, so the same bits.
        return transposedAProduct(scope, heap, a, b);
      }
      if (plan === "transposeInputs") {
        const a2 = transposeA ? swapLastTwo(scope, a) : a;
        const b2 = transposeB ? swapLastTwo(scope, b) : b;
        return plainProduct(scope, heap, plainMatMul, a2, b2, true);
      }
      // (op(B)ᵀ · op(A)ᵀ)ᵀ: an operand that was flagged for transposing is used as stored.
      const left = transposeB ? b : swapLastTwo(scope, b);
      const right = transposeA ? a : swapLastTwo(scope, a);
      return swapLastTwo(scope, plainProduct(scope, heap, plainMatMul, left, right, true));
    });
  };
}

/**
 * _FusedMatMul for tfjs-backend-wasm: an untransposed product with no bias and no activation (what a dense layer whose
 * activation cannot be fused, e.g. a softmax head, runs under tfjs's `fused.matMul`) goes to fedtune's BatchMatMul (`batchMatMul`,
 * the same products in the same order as the stock kernel's XNNPACK, without packing b on every training step);
 * everything else to the stock kernel (`stock`, looked up when called).
 */
export function fusedMatMulVia(stock: () => tf.KernelFunc | undefined, batchMatMul: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const { a, b, bias, preluActivationWeights } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const { activation, transposeA, transposeB } = (attrs ?? {}) as { activation?: string; transposeA?: boolean; transposeB?: boolean };
    // Transposed operands stay on the stock kernel: its own transposed product rounds differently (tfjs's dense layers
    // never pass one here; their gradients are BatchMatMuls).
    if (bias == null && preluActivationWeights == null && (activation === undefined || activation === "linear") && transposeA !== true && transposeB !== true) {
      return batchMatMul({ ...args, inputs: { a, b } });
    }
    const stockFused = stock();
    if (stockFused === undefined) throw new Error("_FusedMatMul: the stock wasm kernel is not available");
    return stockFused(args);
  };
}
