/*
 * FedAvg's exact weighted sum for lib/federation/aggregate.ts, in wasm SIMD. A freestanding module that imports its
 * memory (env.memory): the caller (lib/kernels/weightedSum.ts) gives it a memory of its own, copies one block of every
 * participant's values in, calls weighted_sum, and copies the block's result out.
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

/* The four-float group at x, as two float64 pairs: (x0, x1) and (x2, x3). */
#define PROMOTE_LO(v) wasm_f64x2_promote_low_f32x4(v)
#define PROMOTE_HI(v) wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3))

/*
 * out[k] = fround(Σᵢ f[i]·xs[i·stride + k] / total) for k < m, where xs holds p rows of `stride` floats (m ≤ stride,
 * stride a multiple of 4, rows 16-byte aligned). Accumulates 8 coordinates at a time in registers, so the only memory
 * traffic is one read of each input and one write of each output. Returns 1 if every output is finite, else 0.
 */
EXPORT("weighted_sum")
int weighted_sum(const float *restrict xs, int p, int stride, const double *restrict f, double total,
                 float *restrict out, int m) {
  const v128_t zero = wasm_f64x2_splat(0.0);
  const v128_t div = wasm_f64x2_splat(total);
  v128_t bad = wasm_i32x4_splat(0);
  int k = 0;
  for (; k + 8 <= m; k += 8) {
    v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    const float *x = xs + k;
    for (int i = 0; i < p; i++, x += stride) {
      const v128_t n = wasm_f64x2_splat(f[i]);
      const v128_t u = wasm_v128_load(x);
      const v128_t v = wasm_v128_load(x + 4);
      a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(n, PROMOTE_LO(u)));
      a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(n, PROMOTE_HI(u)));
      a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(n, PROMOTE_LO(v)));
      a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(n, PROMOTE_HI(v)));
    }
    const v128_t lo = wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(a0, div)),
                                         wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(a1, div)), 0, 1, 4, 5);
    const v128_t hi = wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(a2, div)),
                                         wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(a3, div)), 0, 1, 4, 5);
    /* v − v is 0 for a finite v and NaN for NaN or ±Inf. */
    bad = wasm_v128_or(bad, wasm_f32x4_ne(wasm_f32x4_sub(lo, lo), wasm_f32x4_splat(0.0f)));
    bad = wasm_v128_or(bad, wasm_f32x4_ne(wasm_f32x4_sub(hi, hi), wasm_f32x4_splat(0.0f)));
    wasm_v128_store(out + k, lo);
    wasm_v128_store(out + k + 4, hi);
  }
  int finite = !wasm_v128_any_true(bad);
  for (; k < m; k++) {
    double a = 0.0;
    for (int i = 0; i < p; i++) a = a + f[i] * (double)xs[i * stride + k];
    const float v = (float)(a / total);
    out[k] = v;
    if (v - v != 0.0f) finite = 0;
  }
  return finite;
}
