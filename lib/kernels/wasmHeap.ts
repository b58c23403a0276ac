import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { wasmApi, type WasmMemory } from "./webAssembly";
import { nativeProducts } from "./native";
import type { PatchGeometry } from "./convGeometry";

/** The parts of tfjs-backend-wasm's `BackendWasm` that fedtune's wasm kernels use (not exported as types). */
interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  wasm: { asm?: { memory?: unknown } };
}

/** The functions of lib/kernels/wasm/fedtune_kernels.c; every pointer is a byte offset on the backend's heap. */
export interface FedtuneWasmKernels {
  im2col_t(x: number, cols: number, ...geometry: PatchGeometry): void;
  im2col(x: number, cols: number, ...geometry: PatchGeometry): void;
  col2im(cols: number, dx: number, ...geometry: PatchGeometry): void;
  matmul(a: number, b: number, out: number, m: number, k: number, n: number): void;
  /** out[m, n] = aᵀ·b with a stored [k, m]: matmul's sums, in its order, without transposing a first. */
  matmul_ta(a: number, b: number, out: number, m: number, k: number, n: number): void;
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    fh: number, fw: number, sh: number, sw: number, pt: number, pl: number): void;
  sum_rows(x: number, out: number, rows: number, c: number): void;
  sgd_update(w: number, g: number, len: number, lr: number): void;
  momentum_update(w: number, v: number, g: number, len: number, lr: number, m: number): void;
  relu_grad(dy: number, x: number, out: number, len: number): void;
  softmax_grad(dy: number, y: number, out: number, rows: number, c: number): void;
  add_rows(x: number, b: number, out: number, rows: number, c: number): void;
  /** Bench only: `iters` rounds of 12 register-only SIMD multiply-then-add chains (96 flops a round); sum to out[0..3]. */
  simd_peak(out: number, m: number, a: number, iters: number): void;
}

/** The committed build of fedtune_kernels.c (see lib/kernels/wasm/build.sh). */
export const WASM_KERNELS_FILE = path.join(__dirname, "wasm", "fedtune_kernels.wasm");


let compiled: object | undefined;
/** One instance per backend memory (each worker thread has its own backend): the wasm exports, and the table in use. */
const instances = new WeakMap<object, { wasm: FedtuneWasmKernels; kernels: FedtuneWasmKernels; native: boolean }>();

/**
 * fedtune_kernels.wasm instantiated on `memory`, and the kernel table the kernels call: the same, with `matmul` and
 * `matmul_ta` on the native products where they run (lib/kernels/native.ts; bit-identical, ~4× faster).
 */
function instantiate(memory: WasmMemory): { wasm: FedtuneWasmKernels; kernels: FedtuneWasmKernels; native: boolean } {
  let entry = instances.get(memory);
  if (entry === undefined) {
    compiled ??= new wasmApi.Module(fs.readFileSync(WASM_KERNELS_FILE));
    const wasm = new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as FedtuneWasmKernels;
    const native = nativeProducts();
    // memory.buffer is read on every call: the heap's ArrayBuffer is replaced whenever the backend grows it.
    const kernels: FedtuneWasmKernels = native === undefined ? wasm : {
      ...wasm,
      matmul: (a, b, out, m, k, n) => native.matmul(memory.buffer, a, b, out, m, k, n),
      matmul_ta: (a, b, out, m, k, n) => native.matmulTa(memory.buffer, a, b, out, m, k, n),
    };
    entry = { wasm, kernels, native: native !== undefined };
    instances.set(memory, entry);
  }
  return entry;
}

/**
 * What a fedtune kernel needs from the wasm backend it runs on: new outputs, the heap offsets of tensors, and
 * fedtune's own wasm functions instantiated on the backend's memory (so they read and write tensors in place).
 */
export class WasmHeap {
  private readonly backend: WasmBackendInternals;
  /** fedtune's kernel functions on this backend's memory: the wasm ones, with the native products where they run. */
  readonly kernels: FedtuneWasmKernels;
  /** fedtune's wasm functions alone (what `kernels` falls back to; tests and the bench compare the two). */
  readonly wasmKernels: FedtuneWasmKernels;
  /** Whether `kernels.matmul` and `matmul_ta` are the native products (then they beat XNNPACK's at every size). */
  readonly nativeProducts: boolean;

  /** `backend` is the one a wasm kernelFunc receives; `kernel` names the caller in errors. */
  constructor(backend: object, private readonly kernel: string) {
    this.backend = backend as WasmBackendInternals;
    const memory = this.backend.wasm?.asm?.memory;
    if (typeof this.backend.makeOutput !== "function" || typeof this.backend.getMemoryOffset !== "function" ||
      !(memory instanceof wasmApi.Memory)) {
      throw new Error(`${kernel}: needs the tfjs-backend-wasm backend (its makeOutput, getMemoryOffset and wasm memory)`);
    }
    const { wasm, kernels, native } = instantiate(memory);
    this.kernels = kernels;
    this.wasmKernels = wasm;
    this.nativeProducts = native;
  }

  /** A new, uninitialised float32 tensor on the backend. */
  output(shape: number[]): tf.TensorInfo {
    return this.backend.makeOutput(shape, "float32");
  }

  /** A new float32 tensor of zeros (the gradient of an empty convolution). */
  zeros(shape: number[]): tf.TensorInfo {
    const out = this.output(shape);
    this.backend.typedArrayFromHeap(out).fill(0);
    return out;
  }

  /** A float32 tensor's data as a view of the heap (valid until the next allocation on the backend). */
  view(info: tf.TensorInfo): Float32Array {
    if (info.dtype !== "float32") throw new Error(`${this.kernel}: expected a float32 tensor, got ${info.dtype}`);
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  /** Byte offset of a float32 tensor's data on the heap. */
  offset(info: tf.TensorInfo): number {
    if (info.dtype !== "float32") throw new Error(`${this.kernel}: expected a float32 tensor, got ${info.dtype}`);
    return this.backend.getMemoryOffset(info.dataId);
  }
}
