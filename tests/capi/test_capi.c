/* The C API (attend/attend_c.h) from a program compiled as C99.
 *
 * Results: attend_attention on strided [B, H, N, D] memory (f32 and bf16 inputs, f16 output) is
 * compared with the C++ double-precision reference (attend_attention_reference) run on dense
 * [B, N, H, D] copies this program gathers itself, and, for one case, with a naive forward written
 * here in C (independent of attend). The backward is compared with the C++ reference backward, and
 * a decode loop over a KV cache with the reference forward over the same keys.
 * Errors: bad shapes, NULL pointers, bad dtypes and zeroed options give the right status, a message
 * naming the function and the value, and leave the output untouched; the message is per thread.
 * Prints one line per check; exits non-zero on the first failure. */
#define _POSIX_C_SOURCE 200809L /* pthreads under -std=c99 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attend/attend_c.h"

static int g_checks = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    ++g_checks;                                            \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      exit(1);                                             \
    }                                                      \
  } while (0)

#define CHECK_OK(call)                                                                          \
  do {                                                                                          \
    attend_status st_ = (call);                                                                 \
    CHECK(st_ == ATTEND_OK, "%s -> %s: %s", #call, attend_status_name(st_), attend_last_error()); \
  } while (0)

/* ---- random numbers, conversions, tensors -------------------------------------------------- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float uniform(void) { /* in [-1, 1) */
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static uint16_t f32_to_bf16(float f) { /* round to nearest even (finite inputs) */
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static float f16_to_f32(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (float)((h & 0x8000) ? -v : v);
}

static attend_tensor view4(void* data, attend_dtype dt, const int64_t shape[4], const int64_t stride[4]) {
  attend_tensor t;
  int i;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = dt;
  t.rank = 4;
  for (i = 0; i < 4; ++i) {
    t.shape[i] = shape[i];
    t.stride[i] = stride[i];
  }
  return t;
}

static attend_tensor dense(void* data, attend_dtype dt, int32_t rank, int64_t a, int64_t b, int64_t c, int64_t d) {
  attend_tensor t;
  int64_t shape[4];
  shape[0] = a;
  shape[1] = b;
  shape[2] = c;
  shape[3] = d;
  CHECK_OK(attend_tensor_init(&t, data, dt, rank, shape));
  return t;
}

/* buf holds [B, H, N, W] (bhsd); returns a dense [B, N, H, W] f32 copy. */
static float* gather_bshd(const float* buf, int64_t B, int64_t H, int64_t N, int64_t W) {
  float* out = malloc((size_t)(B * N * H * W) * sizeof(float));
  int64_t b, h, i, w;
  for (b = 0; b < B; ++b)
    for (h = 0; h < H; ++h)
      for (i = 0; i < N; ++i)
        for (w = 0; w < W; ++w) out[((b * N + i) * H + h) * W + w] = buf[((b * H + h) * N + i) * W + w];
  return out;
}

static float* random_buffer(int64_t n) {
  float* p = malloc((size_t)n * sizeof(float));
  int64_t i;
  for (i = 0; i < n; ++i) p[i] = uniform();
  return p;
}

/* max |a - b| / max(max |b|, 1e-30) */
static double rel_err(const float* a, const float* b, int64_t n) {
  double e = 0, m = 1e-30;
  int64_t i;
  for (i = 0; i < n; ++i) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > e) e = d;
    if (fabs((double)b[i]) > m) m = fabs((double)b[i]);
  }
  return e / m;
}

/* ---- a naive forward in C (the contract of attend/attention.h, no attend code) -------------- */

/* q [B, Nq, Hq, D], k/v [B, Nk, Hkv, D], out [B, Nq, Hq, D], lse [B, Hq, Nq]; all dense f32. */
static void naive_forward(const float* q, const float* k, const float* v, float* out, float* lse, int64_t B,
                          int64_t Nq, int64_t Nk, int64_t Hq, int64_t Hkv, int64_t D, double scale, int causal,
                          int64_t window_left, double softcap, const float* slopes) {
  double* s = malloc((size_t)Nk * sizeof(double));
  int64_t b, h, i, j, d;
  for (b = 0; b < B; ++b)
    for (h = 0; h < Hq; ++h)
      for (i = 0; i < Nq; ++i) {
        const int64_t ip = i + Nk - Nq, g = h / (Hq / Hkv);
        double m = -INFINITY, l = 0;
        for (j = 0; j < Nk; ++j) {
          double dot = 0;
          for (d = 0; d < D; ++d) dot += (double)q[((b * Nq + i) * Hq + h) * D + d] * k[((b * Nk + j) * Hkv + g) * D + d];
          dot *= scale;
          if (softcap > 0) dot = softcap * tanh(dot / softcap);
          if (slopes) dot -= slopes[h] * fabs((double)(ip - j));
          if ((causal && j > ip) || (window_left >= 0 && j < ip - window_left)) dot = -INFINITY;
          s[j] = dot;
          if (dot > m) m = dot;
        }
        for (j = 0; j < Nk; ++j) l += s[j] == -INFINITY ? 0 : exp(s[j] - m);
        for (d = 0; d < D; ++d) {
          double acc = 0;
          for (j = 0; j < Nk; ++j)
            if (s[j] != -INFINITY) acc += exp(s[j] - m) / l * v[((b * Nk + j) * Hkv + g) * D + d];
          out[((b * Nq + i) * Hq + h) * D + d] = (float)acc;
        }
        lse[(b * Hq + h) * Nq + i] = (float)(m + log(l));
      }
  free(s);
}

/* ---- forward ------------------------------------------------------------------------------- */

static void test_forward_f32(void) {
  const int64_t B = 2, Nq = 37, Nk = 65, Hq = 4, Hkv = 2, D = 16;
  float *qb = random_buffer(B * Hq * Nq * D), *kb = random_buffer(B * Hkv * Nk * D), *vb = random_buffer(B * Hkv * Nk * D);
  float* out = malloc((size_t)(B * Hq * Nq * D) * sizeof(float));  /* bhsd, like the inputs */
  float* lse = malloc((size_t)(B * Hq * Nq) * sizeof(float));
  float *qd = gather_bshd(qb, B, Hq, Nq, D), *kd = gather_bshd(kb, B, Hkv, Nk, D), *vd = gather_bshd(vb, B, Hkv, Nk, D);
  float* ref_out = malloc((size_t)(B * Nq * Hq * D) * sizeof(float));
  float* ref_lse = malloc((size_t)(B * Hq * Nq) * sizeof(float));
  float* naive_out = malloc((size_t)(B * Nq * Hq * D) * sizeof(float));
  float* naive_lse = malloc((size_t)(B * Hq * Nq) * sizeof(float));
  const float slopes[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
  const int64_t qs[4] = {B, Nq, Hq, D}, qt[4] = {Hq * Nq * D, D, Nq * D, 1};
  const int64_t ks[4] = {B, Nk, Hkv, D}, kt[4] = {Hkv * Nk * D, D, Nk * D, 1};
  attend_tensor q = view4(qb, ATTEND_F32, qs, qt), k = view4(kb, ATTEND_F32, ks, kt), v = view4(vb, ATTEND_F32, ks, kt);
  attend_tensor o = view4(out, ATTEND_F32, qs, qt), l = dense(lse, ATTEND_F32, 3, B, Hq, Nq, 0);
  attend_options opts;
  float* out_bshd;
  double e;

  attend_options_init(&opts);
  opts.causal = 1;
  opts.window_left = 20;
  opts.softcap = 3.0f;
  opts.scale = 0.3f;
  opts.alibi_slopes = slopes;
  opts.alibi_count = 4;
  CHECK_OK(attend_attention(&q, &k, &v, &o, &l, &opts));
  {
    attend_tensor rq = dense(qd, ATTEND_F32, 4, B, Nq, Hq, D), rk = dense(kd, ATTEND_F32, 4, B, Nk, Hkv, D);
    attend_tensor rv = dense(vd, ATTEND_F32, 4, B, Nk, Hkv, D), ro = dense(ref_out, ATTEND_F32, 4, B, Nq, Hq, D);
    attend_tensor rl = dense(ref_lse, ATTEND_F32, 3, B, Hq, Nq, 0);
    CHECK_OK(attend_attention_reference(&rq, &rk, &rv, &ro, &rl, &opts));
  }
  out_bshd = gather_bshd(out, B, Hq, Nq, D);
  e = rel_err(out_bshd, ref_out, B * Nq * Hq * D);
  CHECK(e < 1e-5, "forward f32 (strided) vs C++ reference: relative error %.3g", e);
  e = rel_err(lse, ref_lse, B * Hq * Nq);
  CHECK(e < 1e-5, "forward lse vs C++ reference: relative error %.3g", e);
  naive_forward(qd, kd, vd, naive_out, naive_lse, B, Nq, Nk, Hq, Hkv, D, 0.3, 1, 20, 3.0, slopes);
  e = rel_err(ref_out, naive_out, B * Nq * Hq * D);
  CHECK(e < 1e-6, "C++ reference vs the naive C forward: relative error %.3g", e);
  e = rel_err(out_bshd, naive_out, B * Nq * Hq * D);
  CHECK(e < 1e-5, "forward vs the naive C forward: relative error %.3g", e);
  printf("ok   forward f32, [B,H,N,D] strides, causal+window+softcap+ALiBi+scale, GQA 4/2, Nq 37 Nk 65\n");

  free(qb); free(kb); free(vb); free(out); free(lse); free(qd); free(kd); free(vd);
  free(ref_out); free(ref_lse); free(naive_out); free(naive_lse); free(out_bshd);
}

static void test_forward_bf16_in_f16_out(void) {
  const int64_t B = 1, N = 130, H = 2, D = 64, n = B * N * H * D;
  uint16_t* qb = malloc((size_t)n * 2);
  uint16_t* kb = malloc((size_t)n * 2);
  uint16_t* vb = malloc((size_t)n * 2);
  uint16_t* ob = malloc((size_t)n * 2);
  float *qf = malloc((size_t)n * 4), *kf = malloc((size_t)n * 4), *vf = malloc((size_t)n * 4);
  float *of = malloc((size_t)n * 4), *rf = malloc((size_t)n * 4);
  attend_tensor q, k, v, o, rq, rk, rv, ro;
  attend_options opts;
  int64_t i;
  double e;
  for (i = 0; i < n; ++i) {
    qb[i] = f32_to_bf16(uniform());
    kb[i] = f32_to_bf16(uniform());
    vb[i] = f32_to_bf16(uniform());
    qf[i] = bf16_to_f32(qb[i]);  /* the reference sees exactly the rounded inputs */
    kf[i] = bf16_to_f32(kb[i]);
    vf[i] = bf16_to_f32(vb[i]);
  }
  q = dense(qb, ATTEND_BF16, 4, B, N, H, D);
  k = dense(kb, ATTEND_BF16, 4, B, N, H, D);
  v = dense(vb, ATTEND_BF16, 4, B, N, H, D);
  o = dense(ob, ATTEND_F16, 4, B, N, H, D);
  attend_options_init(&opts);
  opts.causal = 1;
  CHECK_OK(attend_attention(&q, &k, &v, &o, NULL, &opts));
  rq = dense(qf, ATTEND_F32, 4, B, N, H, D);
  rk = dense(kf, ATTEND_F32, 4, B, N, H, D);
  rv = dense(vf, ATTEND_F32, 4, B, N, H, D);
  ro = dense(rf, ATTEND_F32, 4, B, N, H, D);
  CHECK_OK(attend_attention_reference(&rq, &rk, &rv, &ro, NULL, &opts));
  for (i = 0; i < n; ++i) of[i] = f16_to_f32(ob[i]);
  e = rel_err(of, rf, n);
  /* bf16 weights in the P.V product and an f16 output: a few bf16 ulps (2^-8) at most */
  CHECK(e < 1.5e-2, "forward bf16 in / f16 out vs C++ reference: relative error %.3g", e);
  printf("ok   forward bf16 inputs, f16 output, causal, N 130 D 64 (relative error %.2g)\n", e);
  free(qb); free(kb); free(vb); free(ob); free(qf); free(kf); free(vf); free(of); free(rf);
}

/* ---- backward ------------------------------------------------------------------------------ */

static void test_backward(void) {
  const int64_t B = 1, Nq = 33, Nk = 47, Hq = 4, Hkv = 1, D = 8;
  const int64_t nq = B * Nq * Hq * D, nk = B * Nk * Hkv * D;
  float *q = random_buffer(nq), *k = random_buffer(nk), *v = random_buffer(nk), *dout = random_buffer(nq);
  float *out = malloc((size_t)nq * 4), *lse = malloc((size_t)(B * Hq * Nq) * 4);
  float *dq = malloc((size_t)nq * 4), *dk = malloc((size_t)nk * 4), *dv = malloc((size_t)nk * 4);
  float *rq = malloc((size_t)nq * 4), *rk = malloc((size_t)nk * 4), *rv = malloc((size_t)nk * 4);
  attend_tensor tq = dense(q, ATTEND_F32, 4, B, Nq, Hq, D), tk = dense(k, ATTEND_F32, 4, B, Nk, Hkv, D);
  attend_tensor tv = dense(v, ATTEND_F32, 4, B, Nk, Hkv, D), to = dense(out, ATTEND_F32, 4, B, Nq, Hq, D);
  attend_tensor tdo = dense(dout, ATTEND_F32, 4, B, Nq, Hq, D), tl = dense(lse, ATTEND_F32, 3, B, Hq, Nq, 0);
  attend_tensor tdq = dense(dq, ATTEND_F32, 4, B, Nq, Hq, D), tdk = dense(dk, ATTEND_F32, 4, B, Nk, Hkv, D);
  attend_tensor tdv = dense(dv, ATTEND_F32, 4, B, Nk, Hkv, D);
  attend_tensor trq = dense(rq, ATTEND_F32, 4, B, Nq, Hq, D), trk = dense(rk, ATTEND_F32, 4, B, Nk, Hkv, D);
  attend_tensor trv = dense(rv, ATTEND_F32, 4, B, Nk, Hkv, D);
  attend_options opts;
  double e;
  attend_options_init(&opts);
  opts.causal = 1;
  opts.deterministic = 1;
  CHECK_OK(attend_attention(&tq, &tk, &tv, &to, &tl, &opts));
  CHECK_OK(attend_attention_backward(&tq, &tk, &tv, &to, &tdo, &tl, &tdq, &tdk, &tdv, NULL, &opts));
  CHECK_OK(attend_attention_backward_reference(&tq, &tk, &tv, &to, &tdo, &tl, &trq, &trk, &trv, NULL, &opts));
  e = rel_err(dq, rq, nq);
  CHECK(e < 1e-5, "dq vs C++ reference: %.3g", e);
  e = rel_err(dk, rk, nk);
  CHECK(e < 1e-5, "dk vs C++ reference: %.3g", e);
  e = rel_err(dv, rv, nk);
  CHECK(e < 1e-5, "dv vs C++ reference: %.3g", e);
  printf("ok   backward f32, causal, MQA 4/1, Nq 33 Nk 47: dq, dk, dv vs the C++ reference\n");
  free(q); free(k); free(v); free(dout); free(out); free(lse); free(dq); free(dk); free(dv); free(rq); free(rk); free(rv);
}

/* ---- decode over a KV cache ---------------------------------------------------------------- */

static void test_decode(void) {
  /* one sequence of 40 tokens appended one at a time; after each, the newest query decodes
     against the cache and must equal the reference forward over all keys so far. */
  const int64_t T = 40, Hq = 4, G = 2, D = 32;
  float *ks = random_buffer(T * G * D), *vs = random_buffer(T * G * D), *qs = random_buffer(T * Hq * D);
  float out[4 * 32], ref[4 * 32], lse[4], ref_lse[4];
  attend_kv_cache* cache = NULL;
  attend_decode_options dopts;
  attend_options opts;
  double worst = 0;
  int64_t t, pos = -1, len = -1;
  CHECK_OK(attend_kv_cache_create(&cache, 1, 64, G, D, D, ATTEND_F32, -1, 0));
  attend_decode_options_init(&dopts);
  attend_options_init(&opts);
  opts.causal = 1;
  for (t = 0; t < T; ++t) {
    attend_tensor k = dense(ks + t * G * D, ATTEND_F32, 3, 1, G, D, 0), v = dense(vs + t * G * D, ATTEND_F32, 3, 1, G, D, 0);
    attend_tensor q = dense(qs + t * Hq * D, ATTEND_F32, 4, 1, 1, Hq, D), o = dense(out, ATTEND_F32, 4, 1, 1, Hq, D);
    attend_tensor l = dense(lse, ATTEND_F32, 3, 1, Hq, 1, 0);
    attend_tensor rk = dense(ks, ATTEND_F32, 4, 1, t + 1, G, D), rv = dense(vs, ATTEND_F32, 4, 1, t + 1, G, D);
    attend_tensor ro = dense(ref, ATTEND_F32, 4, 1, 1, Hq, D), rl = dense(ref_lse, ATTEND_F32, 3, 1, Hq, 1, 0);
    double e;
    CHECK_OK(attend_kv_cache_append(cache, 0, &k, &v, &pos));
    CHECK(pos == t, "append returned position %lld, expected %lld", (long long)pos, (long long)t);
    CHECK_OK(attend_decode(&q, cache, &o, &l, &dopts));
    CHECK_OK(attend_attention_reference(&q, &rk, &rv, &ro, &rl, &opts));
    e = rel_err(out, ref, Hq * D);
    if (e > worst) worst = e;
    CHECK(e < 1e-5, "decode step %lld vs reference: %.3g", (long long)t, e);
    e = rel_err(lse, ref_lse, Hq);
    CHECK(e < 1e-5, "decode lse step %lld vs reference: %.3g", (long long)t, e);
  }
  CHECK_OK(attend_kv_cache_length(cache, 0, &len));
  CHECK(len == T, "length %lld", (long long)len);
  CHECK_OK(attend_kv_cache_truncate(cache, 0, 10));
  CHECK_OK(attend_kv_cache_length(cache, 0, &len));
  CHECK(len == 10, "length after truncate %lld", (long long)len);
  CHECK(attend_kv_cache_truncate(cache, 0, 11) == ATTEND_ERROR_INVALID_ARGUMENT, "truncate beyond the length");
  CHECK(strstr(attend_last_error(), "11") != NULL, "message names the length: %s", attend_last_error());
  CHECK(attend_kv_cache_length(cache, 3, &len) == ATTEND_ERROR_INVALID_ARGUMENT, "sequence 3 of 1");
  CHECK(strstr(attend_last_error(), "sequence 3") != NULL, "message names the sequence: %s", attend_last_error());
  attend_kv_cache_destroy(cache);
  attend_kv_cache_destroy(NULL);
  printf("ok   decode: 40 single-token steps over a KV cache vs the reference forward (worst %.2g); truncate\n", worst);
  free(ks); free(vs); free(qs);
}

/* ---- decode over the caller's own memory ---------------------------------------------------- */

static void test_decode_views(void) {
  /* 3 sequences of 7, 0 and 65 tokens, one new query each (T = 1, GQA 4:2). Per-sequence buffers
     [L, G, D]; the same tokens in a paged pool of 16-token blocks in a shuffled order. Each must
     equal the C++ reference over the sequence's tokens; the empty slot gives 0 and -inf. */
  enum { S = 3, Hq = 4, G = 2, D = 16, BS = 16, MAXB = 5, NB = 8 };
  const int64_t len[S] = {7, 0, 65};
  const int32_t order[NB] = {5, 2, 7, 0, 3, 6, 1, 4};
  float *buf_k[S], *buf_v[S], *q = random_buffer(S * Hq * D), out[S * Hq * D], lse[S * Hq], pout[S * Hq * D], plse[S * Hq];
  float *pool_k = (float*)malloc(sizeof(float) * NB * BS * G * D), *pool_v = (float*)malloc(sizeof(float) * NB * BS * G * D);
  const void *kp[S], *vp[S];
  int32_t tables[S * MAXB];
  attend_kv_view kv;
  attend_paged_kv_view pv;
  attend_tensor tq = dense(q, ATTEND_F32, 4, S, 1, Hq, D), to = dense(out, ATTEND_F32, 4, S, 1, Hq, D);
  attend_tensor tl = dense(lse, ATTEND_F32, 3, S, Hq, 1, 0), tpo = dense(pout, ATTEND_F32, 4, S, 1, Hq, D);
  attend_tensor tpl = dense(plse, ATTEND_F32, 3, S, Hq, 1, 0);
  attend_options opts;
  int64_t s, i, used = 0;
  double worst = 0;
  attend_options_init(&opts);
  for (i = 0; i < S * MAXB; ++i) tables[i] = -1;
  for (s = 0; s < S; ++s) {
    int64_t t;
    buf_k[s] = random_buffer(len[s] > 0 ? len[s] * G * D : 1);
    buf_v[s] = random_buffer(len[s] > 0 ? len[s] * G * D : 1);
    kp[s] = len[s] > 0 ? buf_k[s] : NULL;
    vp[s] = len[s] > 0 ? buf_v[s] : NULL;
    for (t = 0; t < len[s]; ++t) {
      if (t % BS == 0) tables[s * MAXB + t / BS] = order[used++];
      memcpy(pool_k + ((int64_t)tables[s * MAXB + t / BS] * BS + t % BS) * G * D, buf_k[s] + t * G * D, sizeof(float) * G * D);
      memcpy(pool_v + ((int64_t)tables[s * MAXB + t / BS] * BS + t % BS) * G * D, buf_v[s] + t * G * D, sizeof(float) * G * D);
    }
  }
  attend_kv_view_init(&kv);
  kv.dtype = ATTEND_F32;
  kv.kv_heads = G; kv.head_dim = D; kv.value_dim = D;
  kv.sequences = S; kv.k = kp; kv.v = vp; kv.lengths = len;
  kv.k_token_stride = G * D; kv.k_head_stride = D; kv.v_token_stride = G * D; kv.v_head_stride = D;
  CHECK_OK(attend_decode_kv(&tq, &kv, &to, &tl, NULL));
  attend_paged_kv_view_init(&pv);
  pv.dtype = ATTEND_F32;
  pv.kv_heads = G; pv.head_dim = D; pv.value_dim = D;
  pv.k_blocks = pool_k; pv.v_blocks = pool_v; pv.num_blocks = NB; pv.block_size = BS;
  pv.k_block_stride = BS * G * D; pv.k_token_stride = G * D; pv.k_head_stride = D;
  pv.v_block_stride = BS * G * D; pv.v_token_stride = G * D; pv.v_head_stride = D;
  pv.sequences = S; pv.block_tables = tables; pv.max_blocks_per_sequence = MAXB; pv.lengths = len;
  CHECK_OK(attend_decode_paged(&tq, &pv, &tpo, &tpl, NULL));
  for (s = 0; s < S; ++s) {
    if (len[s] == 0) {
      for (i = 0; i < Hq * D; ++i) CHECK(out[s * Hq * D + i] == 0 && pout[s * Hq * D + i] == 0, "empty slot out %lld", (long long)i);
      for (i = 0; i < Hq; ++i) CHECK(isinf(lse[s * Hq + i]) && lse[s * Hq + i] < 0 && isinf(plse[s * Hq + i]), "empty slot lse");
    } else {
      float ref[Hq * D], ref_lse[Hq];
      attend_tensor rq = dense(q + s * Hq * D, ATTEND_F32, 4, 1, 1, Hq, D), rk = dense(buf_k[s], ATTEND_F32, 4, 1, len[s], G, D);
      attend_tensor rv = dense(buf_v[s], ATTEND_F32, 4, 1, len[s], G, D), ro = dense(ref, ATTEND_F32, 4, 1, 1, Hq, D);
      attend_tensor rl = dense(ref_lse, ATTEND_F32, 3, 1, Hq, 1, 0);
      double e;
      CHECK_OK(attend_attention_reference(&rq, &rk, &rv, &ro, &rl, &opts));
      e = rel_err(out + s * Hq * D, ref, Hq * D);
      if (e > worst) worst = e;
      CHECK(e < 1e-5, "decode_kv sequence %lld vs reference: %.3g", (long long)s, e);
      e = rel_err(pout + s * Hq * D, ref, Hq * D);
      if (e > worst) worst = e;
      CHECK(e < 1e-5, "decode_paged sequence %lld vs reference: %.3g", (long long)s, e);
      CHECK(rel_err(lse + s * Hq, ref_lse, Hq) < 1e-5 && rel_err(plse + s * Hq, ref_lse, Hq) < 1e-5, "lse of sequence %lld", (long long)s);
    }
  }
  printf("ok   decode_kv / decode_paged: lengths 7, 0, 65, shuffled blocks vs the reference (worst %.2g)\n", worst);

  /* errors: a negative and an oversized block index, a zero stride, a struct not set up */
  tables[2 * MAXB + 1] = -1;
  CHECK(attend_decode_paged(&tq, &pv, &tpo, NULL, NULL) == ATTEND_ERROR_INVALID_ARGUMENT, "block index -1 accepted");
  CHECK(strstr(attend_last_error(), "block_tables[2][1] = -1") != NULL, "message: %s", attend_last_error());
  tables[2 * MAXB + 1] = NB;
  CHECK(attend_decode_paged(&tq, &pv, &tpo, NULL, NULL) == ATTEND_ERROR_INVALID_ARGUMENT, "block index 8 of 8 accepted");
  CHECK(strstr(attend_last_error(), "outside the pool's 8 blocks") != NULL, "message: %s", attend_last_error());
  kv.v_token_stride = 0;
  CHECK(attend_decode_kv(&tq, &kv, &to, NULL, NULL) == ATTEND_ERROR_INVALID_ARGUMENT, "zero stride accepted");
  CHECK(strstr(attend_last_error(), "v_token_stride") != NULL, "message: %s", attend_last_error());
  kv.struct_size = 0;
  CHECK(attend_decode_kv(&tq, &kv, &to, NULL, NULL) == ATTEND_ERROR_INVALID_ARGUMENT, "struct_size 0 accepted");
  CHECK(strstr(attend_last_error(), "attend_kv_view_init") != NULL, "message: %s", attend_last_error());
  printf("ok   decode views refuse bad block indices, strides and unset structs\n");
  for (s = 0; s < S; ++s) { free(buf_k[s]); free(buf_v[s]); }
  free(q); free(pool_k); free(pool_v);
}

/* ---- a host executor made of pthreads ---------------------------------------------------------- */

typedef struct host_lane {
  attend_task_fn task;
  void* task_ctx;
  int64_t i;
} host_lane;

typedef struct host_state {
  int calls;
  int lanes_on_other_threads;
  pthread_mutex_t mu;
  pthread_t main_thread;
} host_state;

static host_state g_host;

static void* host_thread(void* arg) {
  host_lane* lane = (host_lane*)arg;
  lane->task(lane->task_ctx, lane->i);
  pthread_mutex_lock(&g_host.mu);
  if (!pthread_equal(pthread_self(), g_host.main_thread)) ++g_host.lanes_on_other_threads;
  pthread_mutex_unlock(&g_host.mu);
  return NULL;
}

/* One pthread per lane, joined before returning: every lane runs exactly once. */
static void host_parallel_for(void* ctx, int64_t n, attend_task_fn task, void* task_ctx) {
  host_state* h = (host_state*)ctx;
  pthread_t th[8];
  host_lane lanes[8];
  int64_t i;
  pthread_mutex_lock(&h->mu);
  ++h->calls;
  pthread_mutex_unlock(&h->mu);
  for (i = 0; i < n && i < 8; ++i) {
    lanes[i].task = task;
    lanes[i].task_ctx = task_ctx;
    lanes[i].i = i;
    if (pthread_create(&th[i], NULL, host_thread, &lanes[i]) != 0) host_thread(&lanes[i]);
  }
  for (i = 0; i < n && i < 8; ++i) pthread_join(th[i], NULL);
}

static void test_executor(void) {
  const int64_t N = 200, H = 4, D = 32;
  float *q = random_buffer(N * H * D), *k = random_buffer(N * H * D), *v = random_buffer(N * H * D);
  float *out = (float*)malloc(sizeof(float) * N * H * D), *ref = (float*)malloc(sizeof(float) * N * H * D);
  attend_tensor tq = dense(q, ATTEND_F32, 4, 1, N, H, D), tk = dense(k, ATTEND_F32, 4, 1, N, H, D);
  attend_tensor tv = dense(v, ATTEND_F32, 4, 1, N, H, D), to = dense(out, ATTEND_F32, 4, 1, N, H, D);
  attend_tensor tr = dense(ref, ATTEND_F32, 4, 1, N, H, D);
  attend_options opts;
  attend_executor ex;
  int calls;
  double e;
  attend_options_init(&opts);
  opts.causal = 1;
  pthread_mutex_init(&g_host.mu, NULL);
  g_host.main_thread = pthread_self();
  memset(&ex, 0, sizeof ex);
  ex.struct_size = sizeof ex;
  ex.ctx = &g_host;
  ex.concurrency = 3;
  ex.parallel_for = host_parallel_for;
  CHECK_OK(attend_set_executor(&ex));
  CHECK_OK(attend_attention(&tq, &tk, &tv, &to, NULL, &opts));
  CHECK_OK(attend_attention_reference(&tq, &tk, &tv, &tr, NULL, &opts));
  e = rel_err(out, ref, N * H * D);
  CHECK(e < 1e-5, "forward on the host's threads vs reference: %.3g", e);
  CHECK(g_host.calls > 0 && g_host.lanes_on_other_threads > 0, "the host ran %d calls, %d lanes", g_host.calls,
        g_host.lanes_on_other_threads);
  CHECK_OK(attend_reset_executor());
  calls = g_host.calls;
  CHECK_OK(attend_attention(&tq, &tk, &tv, &to, NULL, &opts));
  CHECK(g_host.calls == calls, "the host was called after attend_reset_executor()");
  ex.concurrency = 0;
  CHECK(attend_set_executor(&ex) == ATTEND_ERROR_INVALID_ARGUMENT, "concurrency 0 accepted");
  CHECK(strstr(attend_last_error(), "concurrency") != NULL, "message: %s", attend_last_error());
  CHECK_OK(attend_set_executor(NULL));
  printf("ok   executor: attention on a pthread host (%d calls) vs reference (%.2g); reset stops its use\n", calls, e);
  pthread_mutex_destroy(&g_host.mu);
  free(q); free(k); free(v); free(out); free(ref);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void expect_error(attend_status got, attend_status want, const char* fragment, const char* what) {
  const char* msg = attend_last_error();
  CHECK(got == want, "%s: got %s, expected %s (%s)", what, attend_status_name(got), attend_status_name(want), msg);
  CHECK(strstr(msg, fragment) != NULL, "%s: message \"%s\" lacks \"%s\"", what, msg, fragment);
  printf("ok   error: %s -> %s: %s\n", what, attend_status_name(got), msg);
}

static void test_errors(void) {
  float q[2 * 3 * 4], k[2 * 3 * 4], v[2 * 3 * 4], out[2 * 3 * 4];
  attend_tensor tq = dense(q, ATTEND_F32, 4, 1, 2, 3, 4), tk = dense(k, ATTEND_F32, 4, 1, 2, 2, 3);
  attend_tensor tv = dense(v, ATTEND_F32, 4, 1, 2, 2, 3), to = dense(out, ATTEND_F32, 4, 1, 2, 3, 4);
  attend_options zeroed;
  attend_kv_cache* cache = NULL;
  int64_t bad_shape[2] = {3, -1};
  int i;
  memset(q, 0, sizeof q);
  memset(k, 0, sizeof k);
  memset(v, 0, sizeof v);
  for (i = 0; i < 24; ++i) out[i] = 42.0f;

  /* k's head width 3 vs q's 4; then 2 KV heads, which do not divide 3 query heads */
  expect_error(attend_attention(&tq, &tk, &tv, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT,
               "k has head size 3 but q has 4", "k width 3, q width 4");
  tk = dense(k, ATTEND_F32, 4, 1, 2, 2, 4);
  tv = dense(v, ATTEND_F32, 4, 1, 2, 2, 4);
  expect_error(attend_attention(&tq, &tk, &tv, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT,
               "k has 2 heads, which does not divide q's 3 heads", "q 3 heads, k 2 heads");
  for (i = 0; i < 24; ++i) CHECK(out[i] == 42.0f, "out[%d] was written (%g) by a failed call", i, out[i]);

  expect_error(attend_attention(NULL, &tk, &tv, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT,
               "attend_attention: q is NULL", "NULL q");
  tq.dtype = 7;
  expect_error(attend_attention(&tq, &tk, &tv, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT, "dtype 7", "dtype 7");
  tq.dtype = ATTEND_F32;
  tq.rank = 5;
  expect_error(attend_attention(&tq, &tk, &tv, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT, "rank 5", "rank 5");
  tq.rank = 4;
  memset(&zeroed, 0, sizeof zeroed);
  expect_error(attend_attention(&tq, &tq, &tq, &to, NULL, &zeroed), ATTEND_ERROR_INVALID_ARGUMENT,
               "attend_options_init", "zeroed options");
  attend_options_init(&zeroed);
  zeroed.alibi_count = 3;
  expect_error(attend_attention(&tq, &tq, &tq, &to, NULL, &zeroed), ATTEND_ERROR_INVALID_ARGUMENT,
               "alibi_slopes is NULL but its count is 3", "alibi count without slopes");
  expect_error(attend_tensor_init(&tq, q, ATTEND_F32, 2, bad_shape), ATTEND_ERROR_INVALID_ARGUMENT,
               "shape[1] is -1", "negative extent");
  expect_error(attend_kv_cache_create(&cache, 1, 8, 2, 4, 4, (attend_dtype)9, -1, 0),
               ATTEND_ERROR_INVALID_ARGUMENT, "dtype 9", "cache dtype 9");
  CHECK(cache == NULL, "a failed create returned a cache");
  expect_error(attend_decode(&tq, NULL, &to, NULL, NULL), ATTEND_ERROR_INVALID_ARGUMENT, "attend_decode: cache is NULL",
               "decode without a cache");
  expect_error(attend_set_num_threads(-2), ATTEND_ERROR_INVALID_ARGUMENT, "-2", "threads -2");

  /* a successful call clears the message */
  CHECK_OK(attend_attention(&tq, &tq, &tq, &to, NULL, NULL));
  CHECK(attend_last_error()[0] == '\0', "message after success: \"%s\"", attend_last_error());
  CHECK(strcmp(attend_status_name((attend_status)99), "unknown status") == 0, "status name of 99");
}

/* The message is per thread: an error in another thread is not seen here, and vice versa. */
static void* fail_in_thread(void* arg) {
  (void)arg;
  attend_set_num_threads(-5);
  return (void*)(strstr(attend_last_error(), "-5") != NULL ? (void*)1 : NULL);
}

static void test_error_is_thread_local(void) {
  pthread_t th;
  void* saw = NULL;
  attend_set_num_threads(-3);
  CHECK(pthread_create(&th, NULL, fail_in_thread, NULL) == 0, "pthread_create");
  CHECK(pthread_join(th, &saw) == 0, "pthread_join");
  CHECK(saw != NULL, "the other thread did not see its own message");
  CHECK(strstr(attend_last_error(), "-3") != NULL && strstr(attend_last_error(), "-5") == NULL,
        "this thread's message was replaced: %s", attend_last_error());
  CHECK_OK(attend_set_num_threads(0));
  printf("ok   attend_last_error() is per thread\n");
}

int main(void) {
  CHECK(strcmp(attend_version_string(), ATTEND_VERSION_STRING) == 0, "library %s, header %s", attend_version_string(),
        ATTEND_VERSION_STRING);
  CHECK(attend_version() == ATTEND_VERSION, "attend_version() %d, ATTEND_VERSION %d", attend_version(), ATTEND_VERSION);
  printf("ok   version %s (%d)\n", attend_version_string(), attend_version());
  test_forward_f32();
  test_forward_bf16_in_f16_out();
  test_backward();
  test_decode();
  test_decode_views();
  test_executor();
  test_errors();
  test_error_is_thread_local();
  printf("capi: %d checks passed\n", g_checks);
  return 0;
}
