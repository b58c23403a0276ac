import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { wasmApi } from "./webAssembly";
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
/** One instance per backend memory (each worker thread has its own backend). */
const instances = new WeakMap<object, FedtuneWasmKernels>();

function instantiate(memory: object): FedtuneWasmKernels {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    compiled ??= new wasmApi.Module(fs.readFileSync(WASM_KERNELS_FILE));
    kernels = new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as FedtuneWasmKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/**
 * What a fedtune kernel needs from the wasm backend it runs on: new outputs, the heap offsets of tensors, and
 * fedtune's own wasm functions instantiated on the backend's memory (so they read and write tensors in place).
 */
export class WasmHeap {
  private readonly backend: WasmBackendInternals;
  /** fedtune's wasm functions, sharing this backend's memory. */
  readonly kernels: FedtuneWasmKernels;

  /** `backend` is the one a wasm kernelFunc receives; `kernel` names the caller in errors. */
  constructor(backend: object, private readonly kernel: string) {
    this.backend = backend as WasmBackendInternals;
    const memory = this.backend.wasm?.asm?.memory;
    if (typeof this.backend.makeOutput !== "function" || typeof this.backend.getMemoryOffset !== "function" ||
      !(memory instanceof wasmApi.Memory)) {
      throw new Error(`${kernel}: needs the tfjs-backend-wasm backend (its makeOutput, getMemoryOffset and wasm memory)`);
    }
    this.kernels = instantiate(memory);
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
