/*
 * fedtune's native matrix product for tfjs-backend-wasm on x86-64 Linux: a Node-API addon whose `matmul` and
 * `matmul_ta` read and write the wasm backend's heap in place (the heap's ArrayBuffer and byte offsets, as the wasm
 * kernels take them) and compute exactly what lib/kernels/wasm/fedtune_kernels.c's functions of the same name compute,
 * bit for bit: every output is summed in float32 from +0 over k in increasing order, one multiply and then one add per
 * term (no fused multiply-add: built with -ffp-contract=off and only separate mul/add intrinsics). Only the width of
 * the vectors differs (16 lanes with AVX-512, 8 with AVX2, 4 in wasm SIMD), and the lanes are independent outputs, so
 * the results do not depend on it. Why native: wasm SIMD has 128-bit vectors and no FMA, which caps a product at
 * ~54 GFLOP/s on this kind of CPU; the same separate mul+add on 512-bit vectors runs ~4× that.
 *
 * No libc: built -nostdlib -ffreestanding (see lib/kernels/wasm/build.sh); Node resolves the napi_* symbols at load.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))

/*
 * Both instruction sets run the same blocked loop: for each block of columns (32 with AVX-512, 16 with AVX2) and each
 * run of KC terms, that piece of b is copied into a contiguous buffer on the stack (b's rows are n floats apart; read
 * in place, a 2 KiB row stride puts every row of a column block in the same few L1 sets), and every tile of up to 6
 * rows adds those KC terms to its sums. A tile's sums start from +0 at t = 0 and otherwise from the float32 partial sums
 * the previous run stored in `out`, which they are exactly: each output is still one sum from +0 over t in increasing
 * order, as in the wasm kernel.
 */
#define KC 256

/* ---------- AVX-512: tiles of R rows × 32 columns (two vectors), masked for the last n % 32 columns ---------- */

/* out rows r..r+R−1, columns j..j+31 (lanes beyond n masked off by m0, m1) += Σ_{t < kc} op(a)(r, t)·bp[t, 0..31], where
 * op(a)(r, t) = a[r·rs + t·ts] and bp is the packed block (32 floats a row); `first`: the sums start from +0. */
#define TILE512(R)                                                                                                    \
  AVX512 static void tile512_##R(const float *a, const float *bp, float *o, int kc, int n, int rs, int ts,           \
                                 __mmask16 m0, __mmask16 m1, int first) {                                             \
    __m512 c0[R], c1[R];                                                                                              \
    for (int i = 0; i < R; i++) {                                                                                     \
      c0[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, o + (long)i * n);                               \
      c1[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, o + (long)i * n + 16);                          \
    }                                                                                                                 \
    for (int t = 0; t < kc; t++, bp += 32) {                                                                          \
      const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);                                             \
      const float *at = a + (long)t * ts;                                                                             \
      for (int i = 0; i < R; i++) {                                                                                   \
        const __m512 s = _mm512_set1_ps(at[(long)i * rs]);                                                            \
        c0[i] = _mm512_add_ps(c0[i], _mm512_mul_ps(s, b0));                                                           \
        c1[i] = _mm512_add_ps(c1[i], _mm512_mul_ps(s, b1));                                                           \
      }                                                                                                               \
    }                                                                                                                 \
    for (int i = 0; i < R; i++, o += n) {                                                                             \
      _mm512_mask_storeu_ps(o, m0, c0[i]);                                                                            \
      _mm512_mask_storeu_ps(o + 16, m1, c1[i]);                                                                       \
    }                                                                                                                 \
  }
TILE512(1)
TILE512(2)
TILE512(3)
TILE512(4)
TILE512(5)
TILE512(6)

/* The same for a last block of at most 16 columns (m1 would be empty): one vector a row, up to 12 rows a tile, so a
 * narrow product (a softmax head's 10 columns) does not spend half its arithmetic on masked-off lanes. */
#define TILE512N(R)                                                                                                   \
  AVX512 static void tile512n_##R(const float *a, const float *bp, float *o, int kc, int n, int rs, int ts,          \
                                  __mmask16 m0, int first) {                                                          \
    __m512 c0[R];                                                                                                     \
    for (int i = 0; i < R; i++) c0[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, o + (long)i * n);   \
    for (int t = 0; t < kc; t++, bp += 32) {                                                                          \
      const __m512 b0 = _mm512_load_ps(bp);                                                                           \
      const float *at = a + (long)t * ts;                                                                             \
      for (int i = 0; i < R; i++) c0[i] = _mm512_add_ps(c0[i], _mm512_mul_ps(_mm512_set1_ps(at[(long)i * rs]), b0));  \
    }                                                                                                                 \
    for (int i = 0; i < R; i++, o += n) _mm512_mask_storeu_ps(o, m0, c0[i]);                                          \
  }
TILE512N(1)
TILE512N(2)
TILE512N(3)
TILE512N(4)
TILE512N(6)
TILE512N(8)
TILE512N(12)

/* Up to 12 rows from `ar` of a block of at most 16 columns: tiles of 12, then 8, 4, 3, 2, 1 (6 unused: 12 covers it). */
AVX512 INLINE void narrow512(const float *ar, const float *bp, float *o, int rows, int kc, int n, int rs, int ts,
                             __mmask16 m0, int first) {
  switch (rows) {
    case 12: tile512n_12(ar, bp, o, kc, n, rs, ts, m0, first); break;
    case 11: case 10: case 9: case 8: tile512n_8(ar, bp, o, kc, n, rs, ts, m0, first);
      if (rows > 8) narrow512(ar + 8L * rs, bp, o + 8L * n, rows - 8, kc, n, rs, ts, m0, first);
      break;
    case 7: case 6: tile512n_6(ar, bp, o, kc, n, rs, ts, m0, first);
      if (rows > 6) tile512n_1(ar + 6L * rs, bp, o + 6L * n, kc, n, rs, ts, m0, first);
      break;
    case 5: case 4: tile512n_4(ar, bp, o, kc, n, rs, ts, m0, first);
      if (rows > 4) tile512n_1(ar + 4L * rs, bp, o + 4L * n, kc, n, rs, ts, m0, first);
      break;
    case 3: tile512n_3(ar, bp, o, kc, n, rs, ts, m0, first); break;
    case 2: tile512n_2(ar, bp, o, kc, n, rs, ts, m0, first); break;
    default: tile512n_1(ar, bp, o, kc, n, rs, ts, m0, first); break;
  }
}

INLINE __mmask16 lanes16(int count) { return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1); }

AVX512 static void matmul512(const float *a, const float *b, float *out, int m, int k, int n, int rs, int ts) {
  __attribute__((aligned(64))) float bp[KC * 32];
  for (int j = 0; j < n; j += 32) {
    const __mmask16 m0 = lanes16(n - j), m1 = lanes16(n - j - 16);
    for (int t0 = 0; t0 < k; t0 += KC) {
      const int kc = k - t0 < KC ? k - t0 : KC;
      const float *bt = b + (long)t0 * n + j;
      for (int t = 0; t < kc; t++, bt += n) {
        _mm512_store_ps(bp + t * 32, _mm512_maskz_loadu_ps(m0, bt));
        _mm512_store_ps(bp + t * 32 + 16, _mm512_maskz_loadu_ps(m1, bt + 16));
      }
      const float *at = a + (long)t0 * ts;
      if (m1 == 0) {
        for (int r = 0; r < m; r += 12) {
          narrow512(at + (long)r * rs, bp, out + (long)r * n + j, m - r < 12 ? m - r : 12, kc, n, rs, ts, m0, t0 == 0);
        }
        continue;
      }
      for (int r = 0; r < m; r += 6) {
        const float *ar = at + (long)r * rs;
        float *o = out + (long)r * n + j;
        switch (m - r < 6 ? m - r : 6) {
          case 6: tile512_6(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 5: tile512_5(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 4: tile512_4(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 3: tile512_3(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 2: tile512_2(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          default: tile512_1(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
        }
      }
    }
  }
}

/* ---------- AVX2: tiles of R rows × 16 columns (two vectors), masked for the last n % 16 columns ---------- */

static const int32_t MASK8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
AVX2 INLINE __m256i lanes8(int count) {
  const int c = count >= 8 ? 8 : count <= 0 ? 0 : count;
  return _mm256_loadu_si256((const __m256i *)(MASK8 + 8 - c));
}

#define TILE256(R)                                                                                                    \
  AVX2 static void tile256_##R(const float *a, const float *bp, float *o, int kc, int n, int rs, int ts, __m256i m0, \
                               __m256i m1, int first) {                                                               \
    __m256 c0[R], c1[R];                                                                                              \
    for (int i = 0; i < R; i++) {                                                                                     \
      c0[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(o + (long)i * n, m0);                                  \
      c1[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(o + (long)i * n + 8, m1);                              \
    }                                                                                                                 \
    for (int t = 0; t < kc; t++, bp += 16) {                                                                          \
      const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);                                              \
      const float *at = a + (long)t * ts;                                                                             \
      for (int i = 0; i < R; i++) {                                                                                   \
        const __m256 s = _mm256_set1_ps(at[(long)i * rs]);                                                            \
        c0[i] = _mm256_add_ps(c0[i], _mm256_mul_ps(s, b0));                                                           \
        c1[i] = _mm256_add_ps(c1[i], _mm256_mul_ps(s, b1));                                                           \
      }                                                                                                               \
    }                                                                                                                 \
    for (int i = 0; i < R; i++, o += n) {                                                                             \
      _mm256_maskstore_ps(o, m0, c0[i]);                                                                              \
      _mm256_maskstore_ps(o + 8, m1, c1[i]);                                                                          \
    }                                                                                                                 \
  }
TILE256(1)
TILE256(2)
TILE256(3)
TILE256(4)
TILE256(5)
TILE256(6)

AVX2 static void matmul256(const float *a, const float *b, float *out, int m, int k, int n, int rs, int ts) {
  __attribute__((aligned(32))) float bp[KC * 16];
  for (int j = 0; j < n; j += 16) {
    const __m256i m0 = lanes8(n - j), m1 = lanes8(n - j - 8);
    for (int t0 = 0; t0 < k; t0 += KC) {
      const int kc = k - t0 < KC ? k - t0 : KC;
      const float *bt = b + (long)t0 * n + j;
      for (int t = 0; t < kc; t++, bt += n) {
        _mm256_store_ps(bp + t * 16, _mm256_maskload_ps(bt, m0));
        _mm256_store_ps(bp + t * 16 + 8, _mm256_maskload_ps(bt + 8, m1));
      }
      const float *at = a + (long)t0 * ts;
      for (int r = 0; r < m; r += 6) {
        const float *ar = at + (long)r * rs;
        float *o = out + (long)r * n + j;
        switch (m - r < 6 ? m - r : 6) {
          case 6: tile256_6(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 5: tile256_5(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 4: tile256_4(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 3: tile256_3(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          case 2: tile256_2(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
          default: tile256_1(ar, bp, o, kc, n, rs, ts, m0, m1, t0 == 0); break;
        }
      }
    }
  }
}

/* out = +0 everywhere: the product over k = 0 terms (the blocked loops above never run a tile then). */
static void zero_out(float *out, long count) {
  for (long i = 0; i < count; i++) out[i] = 0.0f;
}

/* ---------- CPU features ---------- */

enum isa { ISA_NONE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/* What this CPU and OS support: AVX-512F with its register state enabled by the OS (XCR0 bits 1, 2, 5–7), else AVX2
 * with the AVX state (bits 1, 2), else nothing. */
static int detect_isa(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return ISA_NONE;
  if (!(ecx & bit_OSXSAVE) || !(ecx & bit_AVX)) return ISA_NONE;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0x6) != 0x6) return ISA_NONE;
  if (__get_cpuid_max(0, 0) < 7) return ISA_NONE;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  if ((ebx & bit_AVX512F) && (lo & 0xE6) == 0xE6) return ISA_AVX512;
  if (ebx & bit_AVX2) return ISA_AVX2;
  return ISA_NONE;
}

static const char *const ISA_NAMES[] = {"none", "avx2", "avx512"};

/* detect_isa() once per process (cpuid traps to the hypervisor in a VM: microseconds), set when the addon loads. */
static int cpu_isa = -1;

/* ---------- Node-API ---------- */

/* Throws a RangeError with `message` and returns NULL (what a napi callback returns after throwing). */
static napi_value fail(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_FEDTUNE_NATIVE", message);
  return 0;
}

/* Whether [offset, offset + floats·4) lies in a buffer of `len` bytes and offset is float-aligned. */
static int fits(int64_t offset, int64_t floats, size_t len) {
  return offset >= 0 && (offset & 3) == 0 && floats >= 0 && offset + floats * 4 <= (int64_t)len;
}

/*
 * matmul(heap, a, b, out, m, k, n, isa) / matmul_ta(…): `heap` an ArrayBuffer, a/b/out byte offsets in it, sizes as the
 * wasm functions take them; isa 2 = AVX-512, 1 = AVX2 (must be supported: see isa()). Throws a RangeError, touching
 * nothing, if an operand does not lie in the buffer.
 */
static napi_value product(napi_env env, napi_callback_info info, int transposed) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, 0, 0) != napi_ok || argc != 8) return fail(env, "matmul: expected 8 arguments");
  void *data;
  size_t len;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok) return fail(env, "matmul: heap is not an ArrayBuffer");
  int64_t v[7];
  for (int i = 0; i < 7; i++) {
    if (napi_get_value_int64(env, argv[i + 1], &v[i]) != napi_ok) return fail(env, "matmul: a size or offset is not a number");
  }
  const int64_t m = v[3], k = v[4], n = v[5], isa = v[6];
  if (m < 0 || k < 0 || n < 0 || m > 0x7FFFFFFF || k > 0x7FFFFFFF || n > 0x7FFFFFFF) return fail(env, "matmul: negative or huge size");
  if (!fits(v[0], m * k, len) || !fits(v[1], k * n, len) || !fits(v[2], m * n, len)) {
    return fail(env, "matmul: an operand lies outside the heap");
  }
  if (isa != ISA_AVX512 && isa != ISA_AVX2) return fail(env, "matmul: isa must be 1 (AVX2) or 2 (AVX-512)");
  if (isa > cpu_isa) return fail(env, "matmul: this CPU does not support the requested isa");
  const float *a = (const float *)((char *)data + v[0]);
  const float *b = (const float *)((char *)data + v[1]);
  float *out = (float *)((char *)data + v[2]);
  const int rs = transposed ? 1 : (int)k, ts = transposed ? (int)m : 1;
  if (k == 0) {
    zero_out(out, m * n);
  } else if (isa == ISA_AVX512) {
    matmul512(a, b, out, (int)m, (int)k, (int)n, rs, ts);
  } else {
    matmul256(a, b, out, (int)m, (int)k, (int)n, rs, ts);
  }
  return 0;
}

/* out[m, n] = a[m, k] · b[k, n]. */
static napi_value js_matmul(napi_env env, napi_callback_info info) { return product(env, info, 0); }

/* out[m, n] = aᵀ · b with a stored [k, m]. */
static napi_value js_matmul_ta(napi_env env, napi_callback_info info) { return product(env, info, 1); }

/* The best isa this CPU supports: "avx512", "avx2" or "none". */
static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, ISA_NAMES[cpu_isa], NAPI_AUTO_LENGTH, &s);
  return s;
}

NAPI_MODULE_INIT() {
  if (cpu_isa < 0) cpu_isa = detect_isa();
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"matmul", js_matmul}, {"matmul_ta", js_matmul_ta}, {"isa", js_isa}};
  for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, 0, &f) != napi_ok) return 0;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return 0;
  }
  return exports;
}
