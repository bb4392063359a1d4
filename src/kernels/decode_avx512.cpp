// The decode kernel for AVX-512 (same blocking and softmax as decode_impl.h, compute-lean inner loops).
//
// Per task (sequence, chunk of cached tokens), per block of 16 keys, per KV head g with its M query
// rows (Q pre-scaled, in L1):
//   S_rj = q_r·k_j     K rows read straight from the cache (bf16/f16 widened in registers, no
//                      staging copy); each K load feeds 4 rows; 4 keys × 4 rows accumulate at once
//                      and a transposed reduction turns 16 keys' partial sums into one vector of
//                      scores per row (no per-key horizontal sum)
//   P = softmax step   one online-softmax update per block and row (block_softmax)
//   O_r = α_r O_r + Σ_j P_rj v_j   V rows read straight from the cache, each load feeding 4 rows,
//                      64 output dims × 4 rows held in registers across the block's keys
// bf16 rows are read 32 elements per load in even/odd order (Q and O kept in that order), and the
// next block's K/V bytes are prefetched a few lines per inner step while this block computes.
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/simd/avx512.h"
#include "kernels/decode_impl.h"

namespace attend::kernels {
namespace {

// 16 elements [c, c + 16) of a K/V row as f32; with Masked, lanes outside m (past the head size)
// read as 0. Full chunks use plain loads: 16-bit masked loads are several times slower on AMD Zen.
template <DType T, bool Masked>
inline __m512 load_kv(const char* row, std::int64_t c, __mmask16 m) {
  if constexpr (T == DType::f32) {
    const float* src = reinterpret_cast<const float*>(row) + c;
    return Masked ? _mm512_maskz_loadu_ps(m, src) : _mm512_loadu_ps(src);
  } else {
    const std::uint16_t* src = reinterpret_cast<const std::uint16_t*>(row) + c;
    const __m256i h = Masked ? _mm256_maskz_loadu_epi16(m, src) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    if constexpr (T == DType::bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  // bf16 = top half of f32
    else return _mm512_cvtph_ps(h);
  }
}

#include <cstdlib>
// 32 bf16 elements [c, c + 32) of a row in one load, widened with one op per 16: lane i of `ev`
// holds element c + 2i, of `od` element c + 2i + 1 (bf16 = the top half of an f32; Q and O are kept
// in this even/odd order within each full 32-element chunk).
inline void load_bf16_pair(const char* row, std::int64_t c, __m512& ev, __m512& od) {
  const __m512i x = _mm512_loadu_si512(reinterpret_cast<const std::uint16_t*>(row) + c);
  ev = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
  od = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// Whether bf16 rows use the even/odd order (see load_bf16_pair) for their full 32-element chunks.
template <DType T>
constexpr bool use_pairs() { return T == DType::bf16; }

// Inner steps over a row of n elements (fast_scores / pv_chunk): 32-element pairs for bf16, then 16s.
template <DType T>
constexpr std::int64_t chunk_steps(std::int64_t n) {
  return use_pairs<T>() ? n / 32 + (n % 32 + 15) / 16 : (n + 15) / 16;
}

// Rows [rows, stride] of width n: each full 32-element chunk reordered to (to = true) or back
// from the even/odd order [x0, x2, .., x30, x1, x3, .., x31].
inline void reorder_pairs(float* x, std::int64_t rows, std::int64_t stride, std::int64_t n, bool to) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c + 32 <= n; c += 32) {
      float* a = x + r * stride + c;
      float t[32];
      for (int i = 0; i < 16; ++i) {
        if (to) { t[i] = a[2 * i]; t[16 + i] = a[2 * i + 1]; }
        else { t[2 * i] = a[i]; t[2 * i + 1] = a[16 + i]; }
      }
      std::memcpy(a, t, sizeof t);
    }
}



// Software prefetch spread through the arithmetic: a few lines per inner step, so the outstanding
// misses stay steady instead of a burst per block stalling the core on full miss buffers.
struct PrefetchCursor {
  const char* p = nullptr;
  const char* end = nullptr;
  int per_step = 0;
  void step() {
    for (int i = 0; i < per_step; ++i, p += 64)
      if (p < end) _mm_prefetch(p, _MM_HINT_T0);
  }
};

// Lines [g, g + 1)·bytes/G of the region at `next` (cut at `end`), spread over `steps` steps.
inline PrefetchCursor slice_cursor(const char* next, const char* end, std::int64_t bytes, std::int64_t g, std::int64_t G, std::int64_t steps) {
  PrefetchCursor c;
  const std::int64_t slice = (bytes + G - 1) / G;
  if (g * slice >= end - next) return c;
  c.p = next + g * slice;
  c.end = end - c.p < slice ? end : c.p + slice;
  c.per_step = static_cast<int>(((slice + 63) / 64 + steps - 1) / steps);
  return c;
}

inline __mmask16 dim_mask(std::int64_t c, std::int64_t n) {  // lanes c.. c + 15 that are < n
  return n - c >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - c)) - 1);
}

// Four accumulators a, b, c, d → per 128-bit lane [Σa, Σb, Σc, Σd] over that lane's 4 floats.
inline __m512 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));  // [a0+a2, b0+b2, a1+a3, b1+b3]
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  return _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
}

// Four sum4 results (keys 0–3, 4–7, 8–11, 12–15) → one vector of 16 key totals (sum over the 4 lanes).
inline __m512 sum16(__m512 x0, __m512 x1, __m512 x2, __m512 x3) {
  const __m512 z01 = _mm512_add_ps(_mm512_shuffle_f32x4(x0, x1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(x0, x1, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 z23 = _mm512_add_ps(_mm512_shuffle_f32x4(x2, x3, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(x2, x3, _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(z01, z23, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(z01, z23, _MM_SHUFFLE(3, 1, 3, 1)));
}

// Sc[r][j] = Q_r·k_j for R rows (Q: [R, dp], zero-padded) and the 16 key rows krow[j] (head size d).
template <DType T, int R>
void fast_scores(const float* Q, std::int64_t dp, std::int64_t d, const char* const* krow, float* Sc, PrefetchCursor& pf) {
  __m512 part[R][4];
  for (int kq = 0; kq < 4; ++kq) {  // keys 4kq .. 4kq + 3
    __m512 acc[R][4];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < 4; ++i) acc[r][i] = _mm512_setzero_ps();
    const char* const* kr = krow + 4 * kq;
    auto step = [&](std::int64_t c, auto masked) {  // acc_ri += q_r[c..] ⊙ k_i[c..]
      constexpr bool kMasked = decltype(masked)::value;
      const __mmask16 m = dim_mask(c, d);
      const __m512 k0 = load_kv<T, kMasked>(kr[0], c, m), k1 = load_kv<T, kMasked>(kr[1], c, m);
      const __m512 k2 = load_kv<T, kMasked>(kr[2], c, m), k3 = load_kv<T, kMasked>(kr[3], c, m);
      pf.step();
      for (int r = 0; r < R; ++r) {
        const __m512 q = _mm512_loadu_ps(Q + r * dp + c);
        acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
        acc[r][2] = _mm512_fmadd_ps(q, k2, acc[r][2]);
        acc[r][3] = _mm512_fmadd_ps(q, k3, acc[r][3]);
      }
    };
    std::int64_t c = 0;
    if (use_pairs<T>())
      for (; c + 32 <= d; c += 32) {  // acc_ri += q_r[even] ⊙ k_i[even] + q_r[odd] ⊙ k_i[odd]
        __m512 ke[4], ko[4];
        for (int i = 0; i < 4; ++i) load_bf16_pair(kr[i], c, ke[i], ko[i]);
        pf.step();
        for (int r = 0; r < R; ++r) {
          const __m512 qe = _mm512_loadu_ps(Q + r * dp + c), qo = _mm512_loadu_ps(Q + r * dp + c + 16);
          for (int i = 0; i < 4; ++i) acc[r][i] = _mm512_fmadd_ps(qo, ko[i], _mm512_fmadd_ps(qe, ke[i], acc[r][i]));
        }
      }
    for (; c + 16 <= d; c += 16) step(c, std::false_type{});
    if (c < d) step(c, std::true_type{});
    for (int r = 0; r < R; ++r) part[r][kq] = sum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
  }
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(Sc + r * kDecodeBlock, sum16(part[r][0], part[r][1], part[r][2], part[r][3]));
}

// Chunk B of fast_pv_part for one key: o_rB += p_r v[c0 + 16B ..]. With bf16, chunks B, B + 1 that
// form a full 32-element chunk are read with one load (even/odd order, see load_bf16_pair).
template <DType T, int R, int CB, bool Masked, int B>
inline void pv_chunk(__m512 (&o)[R][CB], const __m512 (&p)[R], const char* vr, std::int64_t c0, const __mmask16* m, PrefetchCursor& pf) {
  constexpr auto full_pair = [](int b) { return use_pairs<T>() && b % 2 == 0 && b + 1 < CB && !(Masked && b + 1 == CB - 1); };
  if constexpr (full_pair(B)) {
    __m512 ve, vo;
    load_bf16_pair(vr, c0 + 16 * B, ve, vo);  // one V load feeds R rows
    pf.step();
    for (int r = 0; r < R; ++r) {
      o[r][B] = _mm512_fmadd_ps(p[r], ve, o[r][B]);
      o[r][B + 1] = _mm512_fmadd_ps(p[r], vo, o[r][B + 1]);
    }
  } else if constexpr (B % 2 == 1 && full_pair(B - 1)) {
    // done with chunk B − 1
  } else {
    const __m512 v = load_kv<T, Masked>(vr, c0 + 16 * B, m[B]);  // one V load feeds R rows
    pf.step();
    for (int r = 0; r < R; ++r) o[r][B] = _mm512_fmadd_ps(p[r], v, o[r][B]);
  }
}

// O_r[c0, c0 + 16·CB) = α_r O_r + Σ_{j<n} P_rj v_j for R rows (O: [R, dvp], P = Sc: [R, 16]).
template <DType T, int R, int CB, bool Masked>
void fast_pv_part(float* O, std::int64_t dvp, std::int64_t dv, const char* const* vrow, std::int64_t n, const float* P,
                   const float* Al, std::int64_t c0, PrefetchCursor& pf) {
  __m512 o[R][CB];
  __mmask16 m[CB];
  for (int b = 0; b < CB; ++b) m[b] = dim_mask(c0 + 16 * b, dv);
  for (int r = 0; r < R; ++r) {
    const __m512 a = _mm512_set1_ps(Al[r]);
    for (int b = 0; b < CB; ++b) o[r][b] = _mm512_mul_ps(_mm512_loadu_ps(O + r * dvp + c0 + 16 * b), a);
  }
  for (std::int64_t j = 0; j < n; ++j) {
    __m512 p[R];
    for (int r = 0; r < R; ++r) p[r] = _mm512_set1_ps(P[r * kDecodeBlock + j]);
    const char* vr = vrow[j];
    [&]<int... B>(std::integer_sequence<int, B...>) {  // chunks unrolled at compile time: o stays in registers
      (pv_chunk<T, R, CB, Masked, B>(o, p, vr, c0, m, pf), ...);
    }(std::make_integer_sequence<int, CB>{});
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < CB; ++b) _mm512_storeu_ps(O + r * dvp + c0 + 16 * b, o[r][b]);
}

template <DType T, int R>
void fast_pv(float* O, std::int64_t dvp, std::int64_t dv, const char* const* vrow, std::int64_t n, const float* P, const float* Al,
             PrefetchCursor& pf) {
  for (std::int64_t c0 = 0; c0 < dvp; c0 += 64) {  // 64 output dims at a time: R·4 accumulators in registers
    const int cb = static_cast<int>(imin(4, (dvp - c0) / 16));
    const bool masked = c0 + 16 * cb > dv;  // the last chunk is ragged
    switch (cb * 2 + (masked ? 1 : 0)) {
      case 2: fast_pv_part<T, R, 1, false>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 3: fast_pv_part<T, R, 1, true>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 4: fast_pv_part<T, R, 2, false>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 5: fast_pv_part<T, R, 2, true>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 6: fast_pv_part<T, R, 3, false>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 7: fast_pv_part<T, R, 3, true>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      case 8: fast_pv_part<T, R, 4, false>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
      default: fast_pv_part<T, R, 4, true>(O, dvp, dv, vrow, n, P, Al, c0, pf); break;
    }
  }
}

// Rows [0, M) in register blocks of 4 (then 1–3): fn<R>(r0) for each block.
template <class Fn>
void for_row_blocks(std::int64_t M, Fn&& fn) {
  std::int64_t r = 0;
  for (; r + 4 <= M; r += 4) fn(std::integral_constant<int, 4>{}, r);
  switch (M - r) {
    case 1: fn(std::integral_constant<int, 1>{}, r); break;
    case 2: fn(std::integral_constant<int, 2>{}, r); break;
    case 3: fn(std::integral_constant<int, 3>{}, r); break;
    default: break;
  }
}

template <DType T>
void decode_task_fast(const DecodeProblem& p, const DecodeTask& task, float* scratch, float* partial) {
  const DecodeSequence& sq = p.seqs[static_cast<std::size_t>(task.seq)];
  const std::int64_t M = p.rows(), G = p.g, d = p.d, dv = p.dv, dp = (d + 15) / 16 * 16, dvp = (dv + 15) / 16 * 16;
  const DecodeScratch scr = carve_decode_scratch(p, dp, dvp, scratch);  // K/V are read in place: scr.kb, scr.vb unused
  float *Q = scr.q, *O = scr.o, *Mx = scr.mx, *Ls = scr.ls, *Al = scr.al, *Sc = scr.sc;
  const bool modifiers = p.has_modifiers();
  decode_init_rows<SimdAvx512>(p, sq, decode_qscale(p), dp, dvp, Q, O, Mx, Ls);
  const bool pairs = use_pairs<T>();
  if (pairs) reorder_pairs(Q, G * M, dp, d, true);
  const std::size_t es = dtype_size(T);

  std::int64_t base = 0;  // kept-token index of the current segment's first token
  for (const KVSegment& seg : sq.segs) {
    const std::int64_t lo = imax(task.c0, base), hi = imin(task.c1, base + seg.count);
    for (std::int64_t j0 = lo; j0 < hi; j0 += kDecodeBlock) {
      const std::int64_t n = imin(kDecodeBlock, hi - j0), pos_a = seg.pos0 + (j0 - base);
      const bool all_visible = p.block_visible(sq.len, pos_a, pos_a + n - 1);
      const char* k0 = static_cast<const char*>(seg.k) + static_cast<std::size_t>((j0 - base) * seg.k_stride) * es;
      const char* v0 = static_cast<const char*>(seg.v) + static_cast<std::size_t>((j0 - base) * seg.v_stride) * es;
      // The next block's K and V bytes (contiguous [tokens, G, D] runs of this segment), prefetched
      // while this block computes: head g takes the g-th of G equal slices, a few lines per step.
      // (For a caller's head-major layout the hints land in the wrong head: slower, never wrong.)
      const bool has_next = j0 + kDecodeBlock < hi;
      const std::int64_t kbytes = kDecodeBlock * seg.k_stride * static_cast<std::int64_t>(es);
      const std::int64_t vbytes = kDecodeBlock * seg.v_stride * static_cast<std::int64_t>(es);
      const char* k_end = static_cast<const char*>(seg.k) + static_cast<std::size_t>((hi - base) * seg.k_stride) * es;
      const char* v_end = static_cast<const char*>(seg.v) + static_cast<std::size_t>((hi - base) * seg.v_stride) * es;
      // All heads of this block's tokens in turn: the task walks [chunk, G, D] memory in order.
      for (std::int64_t g = 0; g < G; ++g) {
        const char* krow[kDecodeBlock];
        const char* vrow[kDecodeBlock];
        for (std::int64_t j = 0; j < kDecodeBlock; ++j) {  // keys past n repeat the last one (their P is 0)
          const std::int64_t jj = imin(j, n - 1);
          krow[j] = k0 + static_cast<std::size_t>(jj * seg.k_stride + g * seg.k_head_stride) * es;
          vrow[j] = v0 + static_cast<std::size_t>(jj * seg.v_stride + g * seg.v_head_stride) * es;
        }
        PrefetchCursor pk, pv;
        if (has_next) {
          pk = slice_cursor(k0 + kbytes, k_end, kbytes, g, G, (kDecodeBlock / 4) * chunk_steps<T>(d));
          pv = slice_cursor(v0 + vbytes, v_end, vbytes, g, G, n * chunk_steps<T>(dv));
        }
        const float* Qg = Q + g * M * dp;
        float* Og = O + g * M * dvp;
        for_row_blocks(M, [&](auto R, std::int64_t r) { fast_scores<T, decltype(R)::value>(Qg + r * dp, dp, d, krow, Sc + r * kDecodeBlock, pk); });
        block_softmax<SimdAvx512>(p, sq, g, pos_a, n, all_visible, modifiers, Sc, Mx + g * M, Ls + g * M, Al);
        for_row_blocks(M, [&](auto R, std::int64_t r) { fast_pv<T, decltype(R)::value>(Og + r * dvp, dvp, dv, vrow, n, Sc + r * kDecodeBlock, Al + r, pv); });
      }
    }
    base += seg.count;
  }
  if (pairs) reorder_pairs(O, G * M, dvp, dv, false);
  decode_write_partial(p, dvp, O, Mx, Ls, partial);
}

}  // namespace

void decode_task_avx512(const DecodeProblem& p, const DecodeTask& t, float* scratch, float* partial) {
  switch (p.kv_dtype) {
    case DType::f32: decode_task_fast<DType::f32>(p, t, scratch, partial); break;
    case DType::bf16: decode_task_fast<DType::bf16>(p, t, scratch, partial); break;
    case DType::f16: decode_task_fast<DType::f16>(p, t, scratch, partial); break;
  }
}

}  // namespace attend::kernels
