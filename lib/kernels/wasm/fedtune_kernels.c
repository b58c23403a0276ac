/*
 * fedtune's data-movement kernels for tfjs-backend-wasm, built to a freestanding wasm module that imports the
 * backend's own memory (env.memory), so every pointer below is a tensor's `memoryOffset` on the backend's heap and no
 * data is copied in or out. The arithmetic-heavy parts (GEMMs) stay on the backend's XNNPACK; these are the loops
 * around them that JavaScript runs at 2 ns per element and wasm SIMD at a fraction of that.
 *
 * Rules that keep the shared heap safe: no static data (no data segment is written at instantiation), no stack (no
 * local arrays, no calls that spill), no libc. build.sh checks the output for a data section and for stack-pointer use.
 * Rebuild: lib/kernels/wasm/build.sh (pinned clang 14, see there).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

/*
 * im2col in [K, P] layout: row k = (kh·FW + kw)·C + c holds, for every output position p = (b·OH + i)·OW + j, the
 * input element x[b, i·SH + kh − PT, j·SW + kw − PL, c] that patch entry k multiplies there (0 outside the input).
 * The filter gradient is then the plain product cols · dy[P, Co].
 */
EXPORT("im2col_t")
void im2col_t(const float *restrict x, float *restrict cols, int n, int h, int w, int c, int oh, int ow, int fh, int fw,
              int sh, int sw, int pt, int pl) {
  for (int kh = 0; kh < fh; kh++) {
    for (int kw = 0; kw < fw; kw++) {
      /* output columns j whose input column j·sw + kw − pl lies in [0, w) */
      int j0 = 0;
      while (j0 < ow && j0 * sw + kw - pl < 0) j0++;
      int j1 = ow;
      while (j1 > j0 && (j1 - 1) * sw + kw - pl >= w) j1--;
      for (int ch = 0; ch < c; ch++) {
        for (int b = 0; b < n; b++) {
          const float *xb = x + b * h * w * c + ch;
          for (int i = 0; i < oh; i++, cols += ow) {
            const int r = i * sh + kh - pt;
            if (r < 0 || r >= h) {
              for (int j = 0; j < ow; j++) cols[j] = 0.0f;
              continue;
            }
            for (int j = 0; j < j0; j++) cols[j] = 0.0f;
            const float *src = xb + (r * w + j0 * sw + kw - pl) * c;
            const int step = sw * c;
            for (int j = j0; j < j1; j++, src += step) cols[j] = *src;
            for (int j = j1; j < ow; j++) cols[j] = 0.0f;
          }
        }
      }
    }
  }
}

/*
 * im2col in [P, K] layout, the adjoint of col2im below: row p = (b·OH + i)·OW + j holds patch entry
 * k = (kh·FW + kw)·C + c = x[b, i·SH + kh − PT, j·SW + kw − PL, c] (0 outside the input). The forward convolution is
 * then the plain product cols · W[K, Co], summed over k in the order XNNPACK's convolution sums (kh, kw, c).
 */
EXPORT("im2col")
void im2col(const float *restrict x, float *restrict cols, int n, int h, int w, int c, int oh, int ow, int fh, int fw,
            int sh, int sw, int pt, int pl) {
  const int run = fw * c;
  for (int b = 0; b < n; b++) {
    const float *xb = x + b * h * w * c;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        const int c0 = j * sw - pl;
        const int kw0 = c0 < 0 ? -c0 : 0;
        const int kw1 = c0 + fw > w ? w - c0 : fw;
        for (int kh = 0; kh < fh; kh++, cols += run) {
          const int r = i * sh + kh - pt;
          if (r < 0 || r >= h || kw0 >= kw1) {
            __builtin_memset(cols, 0, (unsigned long)run * sizeof(float));
            continue;
          }
          if (kw0 > 0) __builtin_memset(cols, 0, (unsigned long)(kw0 * c) * sizeof(float));
          __builtin_memcpy(cols + kw0 * c, xb + (r * w + c0 + kw0) * c, (unsigned long)((kw1 - kw0) * c) * sizeof(float));
          if (kw1 < fw) __builtin_memset(cols + kw1 * c, 0, (unsigned long)((fw - kw1) * c) * sizeof(float));
        }
      }
    }
  }
}

/* dst[0..len) += src[0..len), four lanes at a time. */
static inline void add_into(float *restrict dst, const float *restrict src, int len) {
  int t = 0;
  for (; t + 4 <= len; t += 4) wasm_v128_store(dst + t, wasm_f32x4_add(wasm_v128_load(dst + t), wasm_v128_load(src + t)));
  for (; t < len; t++) dst[t] += src[t];
}

/*
 * The adjoint of im2col: dx = 0, then every patch row of `cols` ([P, K]: row p holds the gradient of output position
 * p's patch, entry k = (kh·FW + kw)·C + c) is added back onto the input
 * positions it came from, rows in increasing p, within a row kh then kw.
 */
EXPORT("col2im")
void col2im(const float *restrict cols, float *restrict dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw,
            int sh, int sw, int pt, int pl) {
  __builtin_memset(dx, 0, (unsigned long)(n * h * w * c) * sizeof(float));
  const int run = fw * c;
  for (int b = 0; b < n; b++) {
    float *db = dx + b * h * w * c;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        const int c0 = j * sw - pl;
        const int kw0 = c0 < 0 ? -c0 : 0;
        const int kw1 = c0 + fw > w ? w - c0 : fw;
        for (int kh = 0; kh < fh; kh++, cols += run) {
          const int r = i * sh + kh - pt;
          if (r < 0 || r >= h || kw0 >= kw1) continue;
          add_into(db + (r * w + c0 + kw0) * c, cols + kw0 * c, (kw1 - kw0) * c);
        }
      }
    }
  }
}

/*
 * Max-pool gradient with the tfjs cpu backend's semantics: dx = 0, then each window's dy goes to the window's first
 * maximal element (row-major order, strict > starting from −∞; a window of NaNs passes nothing). Windows are visited
 * in output order, so overlapping windows add up in that order. Channels go four at a time.
 */
EXPORT("max_pool_grad")
void max_pool_grad(const float *restrict x, const float *restrict dy, float *restrict dx, int n, int h, int w, int c,
                   int oh, int ow, int fh, int fw, int sh, int sw, int pt, int pl) {
  __builtin_memset(dx, 0, (unsigned long)(n * h * w * c) * sizeof(float));
  for (int b = 0; b < n; b++) {
    const int base = b * h * w * c;
    for (int i = 0; i < oh; i++) {
      const int r0 = i * sh - pt;
      const int rs = r0 < 0 ? 0 : r0;
      const int re = r0 + fh > h ? h : r0 + fh;
      for (int j = 0; j < ow; j++, dy += c) {
        const int c0 = j * sw - pl;
        const int cs = c0 < 0 ? 0 : c0;
        const int ce = c0 + fw > w ? w : c0 + fw;
        int ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          for (int r = rs; r < re; r++) {
            for (int col = cs; col < ce; col++) {
              const int p = base + (r * w + col) * c + ch;
              const v128_t v = wasm_v128_load(x + p);
              const v128_t gt = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, gt);
              at = wasm_v128_bitselect(wasm_i32x4_make(p, p + 1, p + 2, p + 3), at, gt);
            }
          }
          const int a0 = wasm_i32x4_extract_lane(at, 0), a1 = wasm_i32x4_extract_lane(at, 1);
          const int a2 = wasm_i32x4_extract_lane(at, 2), a3 = wasm_i32x4_extract_lane(at, 3);
          if (a0 >= 0) dx[a0] += dy[ch];
          if (a1 >= 0) dx[a1] += dy[ch + 1];
          if (a2 >= 0) dx[a2] += dy[ch + 2];
          if (a3 >= 0) dx[a3] += dy[ch + 3];
        }
        for (; ch < c; ch++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int r = rs; r < re; r++) {
            for (int col = cs; col < ce; col++) {
              const int p = base + (r * w + col) * c + ch;
              if (x[p] > best) {
                best = x[p];
                at = p;
              }
            }
          }
          if (at >= 0) dx[at] += dy[ch];
        }
      }
    }
  }
}

/*
 * Tiles of the product below: R rows × 8 columns of out in registers, each output summed over k from 0 upward.
 * ROW_STEP adds row ar's term t (at ar[t·ts]) to that row's two accumulators: splat(ar[t·ts]) · (b0, b1).
 */
#define ROW_STEP(ar, c0, c1)                                   \
  do {                                                         \
    const v128_t s_ = wasm_f32x4_splat((ar)[t * ts]);               \
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(s_, b0));           \
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(s_, b1));           \
  } while (0)

static inline __attribute__((always_inline)) void tile4x8(const float *a0, const float *b, float *o, int k, int n, int rs,
                                                          int ts) {
  const float *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs;
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int t = 0; t < k; t++, b += n) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    ROW_STEP(a0, c00, c01);
    ROW_STEP(a1, c10, c11);
    ROW_STEP(a2, c20, c21);
    ROW_STEP(a3, c30, c31);
  }
  wasm_v128_store(o, c00), wasm_v128_store(o + 4, c01), o += n;
  wasm_v128_store(o, c10), wasm_v128_store(o + 4, c11), o += n;
  wasm_v128_store(o, c20), wasm_v128_store(o + 4, c21), o += n;
  wasm_v128_store(o, c30), wasm_v128_store(o + 4, c31);
}

static inline __attribute__((always_inline)) void tile2x8(const float *a0, const float *b, float *o, int k, int n, int rs,
                                                          int ts) {
  const float *a1 = a0 + rs;
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
  for (int t = 0; t < k; t++, b += n) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    ROW_STEP(a0, c00, c01);
    ROW_STEP(a1, c10, c11);
  }
  wasm_v128_store(o, c00), wasm_v128_store(o + 4, c01), o += n;
  wasm_v128_store(o, c10), wasm_v128_store(o + 4, c11);
}

static inline __attribute__((always_inline)) void tile1x8(const float *a0, const float *b, float *o, int k, int n, int ts) {
  v128_t c0 = wasm_f32x4_splat(0), c1 = c0;
  for (int t = 0; t < k; t++, b += n) {
    const v128_t s = wasm_f32x4_splat(a0[t * ts]);
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(s, wasm_v128_load(b)));
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(s, wasm_v128_load(b + 4)));
  }
  wasm_v128_store(o, c0), wasm_v128_store(o + 4, c1);
}

/* The rows from r0 on, fewer than four, of the 8-column block at column j: pairs, then a last single row. */
static inline __attribute__((always_inline)) void rest_rows(const float *a, const float *b, float *out, int r0, int m, int k,
                                                            int n, int j, int rs, int ts) {
  int r = r0;
  for (; r + 2 <= m; r += 2) tile2x8(a + r * rs, b + j, out + r * n + j, k, n, rs, ts);
  if (r < m) tile1x8(a + r * rs, b + j, out + r * n + j, k, n, ts);
}

/* Rows of a (m·k floats) small enough that sweeping b once per 8-column block, a staying in cache, beats streaming b
 * once per 4-row tile: a batch-10 dense layer's 2 MB kernel would otherwise be read three times. */
#define A_IN_CACHE_FLOATS (64 * 1024)

/*
 * out[M, N] = op(a)[M, K] · b[K, N] (row-major, one matrix each), without packing b, where op(a)'s element (r, t) is
 * a[r·rs + t·ts]: rs = K, ts = 1 for a stored [M, K]; rs = 1, ts = M for a stored [K, M] (a transposed operand, read
 * in place). The backend's XNNPACK product packs
 * its b operand into a cache keyed by the tensor, which pays off for fixed weights but is pure cost in training, where
 * b (a dense kernel just updated, a gradient, a patch matrix) is new on every call: for a batch of 10 the packing
 * costs more than the product. Four rows × eight columns per tile in registers (two or one row for the last m % 4);
 * the last n % 8 columns take four rows per vector. Every output is summed over k in increasing order from 0, one
 * float32 multiply and one add per term, whatever the tile or loop order or the layout of a: the results do not
 * depend on them.
 */
static inline __attribute__((always_inline)) void matmul_strided(const float *restrict a, const float *restrict b,
                                                                 float *restrict out, int m, int k, int n, int rs, int ts) {
  const int n8 = n - n % 8;
  const int m4 = m - m % 4;
  if (m * k <= A_IN_CACHE_FLOATS && k * n > m * k) {
    for (int j = 0; j < n8; j += 8) {
      for (int r = 0; r < m4; r += 4) tile4x8(a + r * rs, b + j, out + r * n + j, k, n, rs, ts);
      rest_rows(a, b, out, m4, m, k, n, j, rs, ts);
    }
  } else {
    for (int r = 0; r < m4; r += 4) {
      for (int j = 0; j < n8; j += 8) tile4x8(a + r * rs, b + j, out + r * n + j, k, n, rs, ts);
    }
    for (int j = 0; j < n8; j += 8) rest_rows(a, b, out, m4, m, k, n, j, rs, ts);
  }
  /* the last n % 8 columns: four rows of a column per vector (lane i = row r + i), two columns at a time */
  for (int r = 0; r < m4; r += 4) {
    const float *a0 = a + r * rs, *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs;
    int j = n8;
    for (; j + 2 <= n; j += 2) {
      v128_t c0 = wasm_f32x4_splat(0), c1 = c0;
      const float *bj = b + j;
      for (int t = 0; t < k; t++, bj += n) {
        const v128_t at = wasm_f32x4_make(a0[t * ts], a1[t * ts], a2[t * ts], a3[t * ts]);
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(at, wasm_f32x4_splat(bj[0])));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(at, wasm_f32x4_splat(bj[1])));
      }
      float *o = out + r * n + j;
      o[0] = wasm_f32x4_extract_lane(c0, 0), o[1] = wasm_f32x4_extract_lane(c1, 0), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 1), o[1] = wasm_f32x4_extract_lane(c1, 1), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 2), o[1] = wasm_f32x4_extract_lane(c1, 2), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 3), o[1] = wasm_f32x4_extract_lane(c1, 3);
    }
    if (j < n) {
      v128_t c0 = wasm_f32x4_splat(0);
      const float *bj = b + j;
      for (int t = 0; t < k; t++, bj += n) {
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_f32x4_make(a0[t * ts], a1[t * ts], a2[t * ts], a3[t * ts]), wasm_f32x4_splat(bj[0])));
      }
      float *o = out + r * n + j;
      o[0] = wasm_f32x4_extract_lane(c0, 0), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 1), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 2), o += n;
      o[0] = wasm_f32x4_extract_lane(c0, 3);
    }
  }
  /* the last m % 4 rows of those columns, one output at a time */
  for (int r = m4; r < m; r++) {
    for (int j = n8; j < n; j++) {
      float s = 0.0f;
      for (int t = 0; t < k; t++) s += a[r * rs + t * ts] * b[t * n + j];
      out[r * n + j] = s;
    }
  }
}

/* out[M, N] = a[M, K] · b[K, N]. */
EXPORT("matmul")
void matmul(const float *restrict a, const float *restrict b, float *restrict out, int m, int k, int n) {
  matmul_strided(a, b, out, m, k, n, k, 1);
}

/* out[M, N] = aᵀ · b for a stored [K, M] (a dense layer's weight gradient xᵀ·dy), without transposing a first: the
 * same products and sums, in the same order, as matmul on the transposed copy. */
EXPORT("matmul_ta")
void matmul_ta(const float *restrict a, const float *restrict b, float *restrict out, int m, int k, int n) {
  matmul_strided(a, b, out, m, k, n, 1, m);
}

/*
 * out[c] = Σ_i x[i·C + c] over the rows i = 0 … R−1 of x[R, C], each sum in float32 from 0 in increasing i: what the
 * backend's Sum computes after transposing the reduced (leading) axes to the end, four channels per vector and no
 * transpose. A bias gradient is this sum over batch and positions.
 */
EXPORT("sum_rows")
void sum_rows(const float *restrict x, float *restrict out, int rows, int c) {
  int ch = 0;
  for (; ch + 16 <= c; ch += 16) {
    v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
    const float *xi = x + ch;
    for (int i = 0; i < rows; i++, xi += c) {
      s0 = wasm_f32x4_add(s0, wasm_v128_load(xi));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(xi + 4));
      s2 = wasm_f32x4_add(s2, wasm_v128_load(xi + 8));
      s3 = wasm_f32x4_add(s3, wasm_v128_load(xi + 12));
    }
    wasm_v128_store(out + ch, s0), wasm_v128_store(out + ch + 4, s1);
    wasm_v128_store(out + ch + 8, s2), wasm_v128_store(out + ch + 12, s3);
  }
  for (; ch + 4 <= c; ch += 4) {
    v128_t s0 = wasm_f32x4_splat(0);
    const float *xi = x + ch;
    for (int i = 0; i < rows; i++, xi += c) s0 = wasm_f32x4_add(s0, wasm_v128_load(xi));
    wasm_v128_store(out + ch, s0);
  }
  for (; ch < c; ch++) {
    float s = 0.0f;
    for (int i = 0; i < rows; i++) s += x[i * c + ch];
    out[ch] = s;
  }
}

/*
 * One plain SGD step on a variable, in place: w[i] ← w[i] − lr·g[i], the float32 operations of tfjs's
 * sub(w, mul(lr, g)) in the same order (the product is rounded to float32 before the subtraction; build.sh compiles
 * with -ffp-contract=off, and wasm has no fused multiply-add to contract into anyway).
 */
EXPORT("sgd_update")
void sgd_update(float *restrict w, const float *restrict g, int len, float lr) {
  const v128_t l = wasm_f32x4_splat(lr);
  int i = 0;
  for (; i + 4 <= len; i += 4) {
    wasm_v128_store(w + i, wasm_f32x4_sub(wasm_v128_load(w + i), wasm_f32x4_mul(l, wasm_v128_load(g + i))));
  }
  for (; i < len; i++) w[i] = w[i] - lr * g[i];
}

/*
 * One momentum SGD step on a variable and its velocity, in place: v[i] ← m·v[i] + g[i]; w[i] ← w[i] − lr·v[i], the
 * float32 operations of tfjs's add(mul(m, v), g) and then sub(w, mul(lr, v)), in that order.
 */
EXPORT("momentum_update")
void momentum_update(float *restrict w, float *restrict v, const float *restrict g, int len, float lr, float m) {
  const v128_t l = wasm_f32x4_splat(lr), mm = wasm_f32x4_splat(m);
  int i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(mm, wasm_v128_load(v + i)), wasm_v128_load(g + i));
    wasm_v128_store(v + i, vi);
    wasm_v128_store(w + i, wasm_f32x4_sub(wasm_v128_load(w + i), wasm_f32x4_mul(l, vi)));
  }
  for (; i < len; i++) {
    const float vi = m * v[i] + g[i];
    v[i] = vi;
    w[i] = w[i] - lr * vi;
  }
}

/*
 * The gradient of Relu: out[i] = dy[i] · step(x[i]), step(x) = 1 for x > 0, NaN for NaN, else 0 — the float32
 * operations of tfjs's mul(dy, cast(step(x))) (the backend's Step gives those three values), one multiply each.
 */
EXPORT("relu_grad")
void relu_grad(const float *restrict dy, const float *restrict x, float *restrict out, int len) {
  const v128_t one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= len; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t s = wasm_v128_bitselect(xv, wasm_v128_and(wasm_f32x4_gt(xv, zero), one), wasm_f32x4_ne(xv, xv));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (; i < len; i++) {
    const float xi = x[i];
    out[i] = dy[i] * (xi != xi ? xi : (xi > 0.0f ? 1.0f : 0.0f));
  }
}

/*
 * The gradient of Softmax over the last axis of [rows, c]: t = dy·y; out = t − (Σ_j t[j])·y, the sum in float32 from 0
 * in increasing j — tfjs's sub(dyTimesY, mul(sum(dyTimesY, -1, keepDims), y)) with the backend's Sum, in that order.
 */
EXPORT("softmax_grad")
void softmax_grad(const float *restrict dy, const float *restrict y, float *restrict out, int rows, int c) {
  for (int r = 0; r < rows; r++) {
    const float *d = dy + r * c, *yr = y + r * c;
    float *o = out + r * c;
    float s = 0.0f;
    for (int j = 0; j < c; j++) {
      const float t = d[j] * yr[j];
      o[j] = t;
      s += t;
    }
    for (int j = 0; j < c; j++) o[j] = o[j] - s * yr[j];
  }
}

/*
 * out[r·c + j] = x[r·c + j] + b[j] for the rows r of x[rows, c]: a bias added to every row, the one float32 addition
 * per element that the backend's broadcasting Add does, without its per-element index arithmetic.
 */
EXPORT("add_rows")
void add_rows(const float *restrict x, const float *restrict b, float *restrict out, int rows, int c) {
  for (int r = 0; r < rows; r++) {
    const float *xr = x + r * c;
    float *o = out + r * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(xr + j), wasm_v128_load(b + j)));
    for (; j < c; j++) o[j] = xr[j] + b[j];
  }
}

/*
 * Bench only (item 3's ceiling): this machine's peak rate of wasm SIMD128 float32 multiplies and adds kept separate
 * (no FMA, as in every kernel above). Twelve independent chains c ← c·m + a, all in registers, so neither memory nor
 * the latency of one chain limits the rate (twelve chains are the most that V8 keeps in x86-64's sixteen vector
 * registers; with eight the rate is latency-bound, 2/3 of it); `iters` rounds do 12 · 8 · iters floating-point
 * operations (4 lanes × one multiply and one add per chain). The chains' sum goes to out[0..3] so that none of the
 * work can be dropped.
 */
#define PEAK_STEP(c) c = wasm_f32x4_add(wasm_f32x4_mul(c, vm), va)
EXPORT("simd_peak")
void simd_peak(float *restrict out, float m, float a, int iters) {
  const v128_t vm = wasm_f32x4_splat(m), va = wasm_f32x4_splat(a);
  v128_t c0 = wasm_f32x4_splat(0), c1 = wasm_f32x4_splat(1), c2 = wasm_f32x4_splat(2), c3 = wasm_f32x4_splat(3),
         c4 = wasm_f32x4_splat(4), c5 = wasm_f32x4_splat(5), c6 = wasm_f32x4_splat(6), c7 = wasm_f32x4_splat(7),
         c8 = wasm_f32x4_splat(8), c9 = wasm_f32x4_splat(9), c10 = wasm_f32x4_splat(10), c11 = wasm_f32x4_splat(11);
  for (int t = 0; t < iters; t++) {
    PEAK_STEP(c0), PEAK_STEP(c1), PEAK_STEP(c2), PEAK_STEP(c3), PEAK_STEP(c4), PEAK_STEP(c5);
    PEAK_STEP(c6), PEAK_STEP(c7), PEAK_STEP(c8), PEAK_STEP(c9), PEAK_STEP(c10), PEAK_STEP(c11);
  }
  const v128_t s0 = wasm_f32x4_add(wasm_f32x4_add(c0, c1), wasm_f32x4_add(c2, c3));
  const v128_t s1 = wasm_f32x4_add(wasm_f32x4_add(c4, c5), wasm_f32x4_add(c6, c7));
  const v128_t s2 = wasm_f32x4_add(wasm_f32x4_add(c8, c9), wasm_f32x4_add(c10, c11));
  wasm_v128_store(out, wasm_f32x4_add(wasm_f32x4_add(s0, s1), s2));
}
