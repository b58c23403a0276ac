import * as path from "node:path";

/** The functions of lib/kernels/native/fedtune_native.c (a Node-API addon); offsets are bytes into `heap`. */
interface NativeAddon {
  matmul(heap: ArrayBuffer, a: number, b: number, out: number, m: number, k: number, n: number, isa: number): void;
  matmul_ta(heap: ArrayBuffer, a: number, b: number, out: number, m: number, k: number, n: number, isa: number): void;
  isa(): string;
}

/** A vector instruction set the native product can use: AVX-512F (16 lanes) or AVX2 (8 lanes). */
export type NativeIsa = "avx512" | "avx2";

/** The native matrix products, bound to one instruction set; results are bit-identical to the wasm `matmul`. */
export interface NativeProducts {
  /** The instruction set in use. */
  readonly isa: NativeIsa;
  /** out[m, n] = a[m, k]·b[k, n], operands at byte offsets of `heap`. */
  matmul(heap: ArrayBuffer, a: number, b: number, out: number, m: number, k: number, n: number): void;
  /** out[m, n] = aᵀ·b with a stored [k, m], operands at byte offsets of `heap`. */
  matmulTa(heap: ArrayBuffer, a: number, b: number, out: number, m: number, k: number, n: number): void;
}

/** The committed build of fedtune_native.c for x86-64 Linux (see lib/kernels/wasm/build.sh). */
export const NATIVE_KERNELS_FILE = path.join(__dirname, "native", "fedtune_native.node");

/** Environment variable that turns the native products off ("0") or pins an instruction set ("avx2"). */
export const NATIVE_ENV = "FEDTUNE_NATIVE";

const ISA_CODES: Record<NativeIsa, number> = { avx2: 1, avx512: 2 };

let addon: NativeAddon | null | undefined;
/** Why the addon is not in use, once `nativeProducts()` has been asked and said no. */
let unavailableReason: string | undefined;

function loadAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== "linux" || process.arch !== "x64") {
    unavailableReason = `built for linux-x64 only (this is ${process.platform}-${process.arch})`;
    return addon;
  }
  try {
    // A Node-API addon: one binary for every Node version with Node-API 8 (Node ≥ 12.22); no compiler at install.
    addon = require(NATIVE_KERNELS_FILE) as NativeAddon;
  } catch (error) {
    unavailableReason = `${NATIVE_KERNELS_FILE} did not load: ${(error as Error).message}`;
  }
  return addon;
}

/**
 * The native products at the best instruction set this CPU has (or the one `FEDTUNE_NATIVE=avx2` pins), or undefined
 * where they cannot run (not x86-64 Linux, a CPU without AVX2, `FEDTUNE_NATIVE=0`): callers then use the wasm kernels,
 * which give the same bits.
 */
export function nativeProducts(): NativeProducts | undefined {
  const setting = (process.env[NATIVE_ENV] ?? "").trim().toLowerCase();
  if (setting === "0" || setting === "off" || setting === "false") {
    unavailableReason = `turned off by ${NATIVE_ENV}=${setting}`;
    return undefined;
  }
  if (setting !== "" && setting !== "1" && setting !== "on" && setting !== "avx2" && setting !== "avx512") {
    throw new Error(`${NATIVE_ENV}=${setting}: expected 0, 1, avx2 or avx512`);
  }
  const native = loadAddon();
  if (native === null) return undefined;
  const best = native.isa();
  if (best !== "avx512" && best !== "avx2") {
    unavailableReason = "this CPU has neither AVX2 nor AVX-512F";
    return undefined;
  }
  let isa: NativeIsa = best;
  if (setting === "avx2") isa = "avx2";
  if (setting === "avx512" && best !== "avx512") throw new Error(`${NATIVE_ENV}=avx512: this CPU does not support AVX-512F`);
  const code = ISA_CODES[isa];
  return {
    isa,
    matmul: (heap, a, b, out, m, k, n) => native.matmul(heap, a, b, out, m, k, n, code),
    matmulTa: (heap, a, b, out, m, k, n) => native.matmul_ta(heap, a, b, out, m, k, n, code),
  };
}

/** Which matrix product fedtune's kernels use here: "native avx512", "native avx2", or "wasm (<why not native>)". */
export function productPath(): string {
  const native = nativeProducts();
  return native !== undefined ? `native ${native.isa}` : `wasm (${unavailableReason ?? "native not available"})`;
}
