/*
 * FedAvg's exact weighted sum for lib/federation/aggregate.ts, in wasm SIMD. A freestanding module that imports its
 * memory (env.memory). Built twice (build.sh): weighted_sum.wasm imports a private memory, into which the caller
 * (lib/kernels/weightedSum.ts) copies one block of every participant's values before weighted_sum; weighted_sum_shared.wasm
 * imports a shared memory (the update arena, lib/kernels/updateArena.ts) where the worker pool's updates already live,
 * and weighted_sum_rows reads them in place.
 *
 * Exactness: each output is fround((((0 + f₀·x₀) + f₁·x₁) + … + fₚ₋₁·xₚ₋₁) / total) with every product and sum a
 * separately rounded float64 operation in participant order — the operations, and so the bits, of the textbook
 * JavaScript loop (wasm has no fused multiply-add in SIMD128, and each intrinsic below is one IEEE operation).
 *
 * Same rules as fedtune_kernels.c: no static data, no stack, no libc. Rebuild: build.sh (pinned clang 14).
 */
#include <wasm_simd128.h>

/* Never fuse a·b + c into one rounding (wasm has no such instruction today; this keeps it so). */
#pragma STDC FP_CONTRACT OFF

#define EXPORT(name) __attribute__((export_name(name)))

/* Two float32s at x, widened exactly to a float64 pair (V8 folds the 8-byte load into vcvtps2pd's memory operand). */
#define WIDEN2(x) wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(x))

/* Four outputs: (a, b) / total, each rounded to float32 once. */
#define RESULT4(a, b, div)                                                                                             \
  wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(a, div)),                                           \
                     wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(b, div)), 0, 1, 4, 5)

/* v − v is 0 for a finite v and NaN for NaN or ±Inf: lanes that are not finite, all ones. */
#define NOT_FINITE(v) wasm_f32x4_ne(wasm_f32x4_sub(v, v), wasm_f32x4_splat(0.0f))

/*
 * The loop both exports share, over p rows where ROW(i) is row i's first coordinate of this call: out[k] =
 * fround(Σᵢ f[i]·ROW(i)[k] / total) for k < m. Keeps 16 coordinates' float64 sums in 8 SIMD registers while the
 * participants stream past (8 independent add chains: enough to hide the add latency; measured 20–25 % faster than 4),
 * so the only memory traffic is one read of each input and one write of each output. Coordinates below m rounded down
 * to a multiple of 4 take the SIMD path, the rest scalar code (their NaN payloads can differ: callers split on
 * multiples of 4). Sets `finite` to 1 if every output is finite, else 0.
 *
 * TOUCH (a power of two ≥ 16, or 0 for none): every TOUCH coordinates, first read one word of every 64-byte line of
 * the next TOUCH coordinates of every row (at the start, of the first 2·TOUCH). Those reads are independent, so the core has many cache misses in flight at
 * once and the rows arrive in cache before the sum needs them; the sum's own reads come a line per row at a time behind
 * a chain of float64 adds and stall on memory (wasm has no prefetch instruction). Only reads: the results are the same.
 * For rows resident in a large shared memory, measured 2026-12-01 (10 × 421,642 floats, best of 100 alternating calls,
 * machine at load 4): one thread 6.0 GB/s of input without, 8.3 / 11.1 / 9.5 / 11.1 GB/s with TOUCH 256 / 512 / 1024 /
 * 2048; two threads (each half) 9.1 GB/s without, 14.7 with 1024.
 */
#define WEIGHTED_SUM_LOOP(ROW, TOUCH)                                                                                   \
  const v128_t zero = wasm_f64x2_splat(0.0);                                                                           \
  const v128_t div = wasm_f64x2_splat(total);                                                                          \
  v128_t bad = wasm_i32x4_splat(0);                                                                                    \
  int k = 0;                                                                                                           \
  v128_t touched = wasm_i32x4_splat(0);                                                                                \
  for (; k + 16 <= m; k += 16) {                                                                                       \
    if (TOUCH != 0 && (k & (TOUCH - 1)) == 0) {                                                                        \
      const int end = k + 2 * TOUCH < m ? k + 2 * TOUCH : m;                                                           \
      for (int i = 0; i < p; i++)                                                                                      \
        for (int j = k == 0 ? 0 : k + TOUCH; j < end; j += 16)                                                         \
          touched = wasm_v128_or(touched, wasm_v128_load32_zero(ROW(i) + j));                                          \
    }                                                                                                                  \
    v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;                     \
    for (int i = 0; i < p; i++) {                                                                                      \
      const float *x = ROW(i) + k;                                                                                     \
      const v128_t n = wasm_f64x2_splat(f[i]);                                                                         \
      a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(n, WIDEN2(x)));                                                           \
      a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(n, WIDEN2(x + 2)));                                                       \
      a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(n, WIDEN2(x + 4)));                                                       \
      a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(n, WIDEN2(x + 6)));                                                       \
      a4 = wasm_f64x2_add(a4, wasm_f64x2_mul(n, WIDEN2(x + 8)));                                                       \
      a5 = wasm_f64x2_add(a5, wasm_f64x2_mul(n, WIDEN2(x + 10)));                                                      \
      a6 = wasm_f64x2_add(a6, wasm_f64x2_mul(n, WIDEN2(x + 12)));                                                      \
      a7 = wasm_f64x2_add(a7, wasm_f64x2_mul(n, WIDEN2(x + 14)));                                                      \
    }                                                                                                                  \
    const v128_t r0 = RESULT4(a0, a1, div), r1 = RESULT4(a2, a3, div), r2 = RESULT4(a4, a5, div), r3 = RESULT4(a6, a7, div); \
    bad = wasm_v128_or(bad, wasm_v128_or(wasm_v128_or(NOT_FINITE(r0), NOT_FINITE(r1)), wasm_v128_or(NOT_FINITE(r2), NOT_FINITE(r3)))); \
    wasm_v128_store(out + k, r0);                                                                                      \
    wasm_v128_store(out + k + 4, r1);                                                                                  \
    wasm_v128_store(out + k + 8, r2);                                                                                  \
    wasm_v128_store(out + k + 12, r3);                                                                                 \
  }                                                                                                                    \
  for (; k + 4 <= m; k += 4) {                                                                                         \
    v128_t a0 = zero, a1 = zero;                                                                                       \
    for (int i = 0; i < p; i++) {                                                                                      \
      const float *x = ROW(i) + k;                                                                                     \
      const v128_t n = wasm_f64x2_splat(f[i]);                                                                         \
      a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(n, WIDEN2(x)));                                                           \
      a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(n, WIDEN2(x + 2)));                                                       \
    }                                                                                                                  \
    const v128_t r = RESULT4(a0, a1, div);                                                                             \
    bad = wasm_v128_or(bad, NOT_FINITE(r));                                                                            \
    wasm_v128_store(out + k, r);                                                                                       \
  }                                                                                                                    \
  /* Keeps the touching reads (their values are not used). */                                                          \
  __asm__ volatile("" ::"r"(wasm_i32x4_extract_lane(touched, 0)));                                                    \
  int finite = !wasm_v128_any_true(bad);                                                                               \
  for (; k < m; k++) {                                                                                                 \
    double a = 0.0;                                                                                                    \
    for (int i = 0; i < p; i++) a = a + f[i] * (double)ROW(i)[k];                                                      \
    const float v = (float)(a / total);                                                                                \
    out[k] = v;                                                                                                        \
    if (v - v != 0.0f) finite = 0;                                                                                     \
  }

/*
 * out[k] = fround(Σᵢ f[i]·xs[i·stride + k] / total) for k < m, where xs holds p rows of `stride` floats (m ≤ stride,
 * stride a multiple of 4): the block the caller copied into this module's memory. Returns 1 if every output is finite,
 * else 0.
 */
EXPORT("weighted_sum")
int weighted_sum(const float *restrict xs, int p, int stride, const double *restrict f, double total,
                 float *restrict out, int m) {
#define STRIDED_ROW(i) (xs + (i) * stride)
  WEIGHTED_SUM_LOOP(STRIDED_ROW, 0)
  return finite;
}

/*
 * The same sum over rows anywhere in memory: out[k] = fround(Σᵢ f[i]·rows[i][k0 + k] / total) for k < m, where rows
 * holds p addresses (the participants' values resident in a shared memory, lib/kernels/updateArena.ts). Same
 * operations in the same order as weighted_sum, so the same bits; it touches rows ahead (TOUCH 1024: 4 KiB of each
 * row), which weighted_sum, on a block already in cache, does not need. Returns 1 if every output is finite, else 0.
 */
EXPORT("weighted_sum_rows")
int weighted_sum_rows(const float *const *restrict rows, int p, int k0, const double *restrict f, double total,
                      float *restrict out, int m) {
#define LISTED_ROW(i) (rows[i] + k0)
  WEIGHTED_SUM_LOOP(LISTED_ROW, 1024)
  return finite;
}
