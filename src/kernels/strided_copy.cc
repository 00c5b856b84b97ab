#include "kernels/strided_copy.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/parallel.h"

namespace mixq::kernels {

namespace {

// Rows (of the input's contiguous dim) per transpose task, and the column
// block walked within it: a 32 x 32 tile of 4-byte elements is 4 KiB each
// side, well inside L1.
constexpr int64_t kTileRows = 32;
constexpr int64_t kTileCols = 32;

// The dims a path loops over outside its inner work, each with its input
// step and output stride (elements).
struct Outer {
  std::vector<int64_t> dims, in_steps, out_steps;
  int64_t count = 1;
  void Add(int64_t dim, int64_t in_step, int64_t out_step) {
    dims.push_back(dim);
    in_steps.push_back(in_step);
    out_steps.push_back(out_step);
    count *= dim;
  }
};

// Calls f(in_offset, out_offset, last_index) for the outer positions with
// flat (row-major) index in [begin, end); last_index is the index along the
// last outer dim (0 when there is none).
template <typename F>
void ForOuter(const Outer& o, int64_t begin, int64_t end, const F& f) {
  const size_t n = o.dims.size();
  std::vector<int64_t> index(n, 0);
  int64_t in_off = 0, out_off = 0, rest = begin;
  for (size_t k = n; k-- > 0;) {
    index[k] = rest % o.dims[k];
    rest /= o.dims[k];
    in_off += index[k] * o.in_steps[k];
    out_off += index[k] * o.out_steps[k];
  }
  for (int64_t i = begin; i < end; ++i) {
    f(in_off, out_off, n ? index[n - 1] : 0);
    for (size_t k = n; k-- > 0;) {
      in_off += o.in_steps[k];
      out_off += o.out_steps[k];
      if (++index[k] < o.dims[k]) break;
      in_off -= o.in_steps[k] * o.dims[k];
      out_off -= o.out_steps[k] * o.dims[k];
      index[k] = 0;
    }
  }
}

// ForOuter over all of `o`, split in contiguous chunks over the OpenMP
// threads when the copy moves at least kMinParallelElements elements.
template <typename F>
void ParallelOuter(const Outer& o, int64_t elements, const F& f) {
  if (o.count <= 0) return;
  if (o.count < 2 || elements < kMinParallelElements || omp_get_max_threads() < 2) {
    ForOuter(o, 0, o.count, f);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    ForOuter(o, o.count * t / threads, o.count * (t + 1) / threads, f);
  }
}

// dst[a * ldd + b] = src[a + b * lds] for a < rows, b < cols.
template <typename T>
void TileScalar(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t rows, int64_t cols) {
  for (int64_t b = 0; b < cols; ++b)
    for (int64_t a = 0; a < rows; ++a) dst[a * ldd + b] = src[a + b * lds];
}

void TileBytes(const unsigned char* src, int64_t lds, unsigned char* dst, int64_t ldd, int64_t rows, int64_t cols,
               size_t es) {
  for (int64_t b = 0; b < cols; ++b)
    for (int64_t a = 0; a < rows; ++a)
      std::memcpy(dst + static_cast<size_t>(a * ldd + b) * es, src + static_cast<size_t>(a + b * lds) * es, es);
}

// 8x8 4-byte tiles: load 8 input rows (8 consecutive a at b .. b + 7),
// transpose in registers with unpack / shuffle / lane permutes (pure moves,
// so every bit pattern, NaN payloads included, comes out as it went in).
__attribute__((target("avx2"))) void Tile32Avx2(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                                                int64_t cols) {
  int64_t a = 0;
  for (; a + 8 <= rows; a += 8) {
    int64_t b = 0;
    for (; b + 8 <= cols; b += 8) {
      const float* s = src + a + b * lds;
      const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds),
                   r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds),
                   r5 = _mm256_loadu_ps(s + 5 * lds), r6 = _mm256_loadu_ps(s + 6 * lds),
                   r7 = _mm256_loadu_ps(s + 7 * lds);
      const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
      float* d = dst + a * ldd + b;
      _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    if (b < cols) TileScalar(src + a + b * lds, lds, dst + a * ldd + b, ldd, 8, cols - b);
  }
  if (a < rows) TileScalar(src + a, lds, dst + a * ldd, ldd, rows - a, cols);
}

// 8x8 tiles of 2-byte elements (SSE2): 8 input rows of 8 values, unpacked
// through 16-, 32- and 64-bit interleaves.
__attribute__((target("avx2"))) void Tile16Vec(const uint16_t* src, int64_t lds, uint16_t* dst, int64_t ldd,
                                               int64_t rows, int64_t cols) {
  int64_t a = 0;
  for (; a + 8 <= rows; a += 8) {
    int64_t b = 0;
    for (; b + 8 <= cols; b += 8) {
      const uint16_t* s = src + a + b * lds;
      __m128i r[8];
      for (int k = 0; k < 8; ++k) r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + k * lds));
      __m128i t[8], u[8];
      for (int k = 0; k < 4; ++k) {
        t[2 * k] = _mm_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
      }
      for (int h = 0; h < 2; ++h) {  // rows 0-3 (t0..t3) and 4-7 (t4..t7) of the input
        u[4 * h + 0] = _mm_unpacklo_epi32(t[4 * h], t[4 * h + 2]);
        u[4 * h + 1] = _mm_unpackhi_epi32(t[4 * h], t[4 * h + 2]);
        u[4 * h + 2] = _mm_unpacklo_epi32(t[4 * h + 1], t[4 * h + 3]);
        u[4 * h + 3] = _mm_unpackhi_epi32(t[4 * h + 1], t[4 * h + 3]);
      }
      uint16_t* d = dst + a * ldd + b;
      for (int k = 0; k < 4; ++k) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * k) * ldd), _mm_unpacklo_epi64(u[k], u[k + 4]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * k + 1) * ldd), _mm_unpackhi_epi64(u[k], u[k + 4]));
      }
    }
    if (b < cols) TileScalar(src + a + b * lds, lds, dst + a * ldd + b, ldd, 8, cols - b);
  }
  if (a < rows) TileScalar(src + a, lds, dst + a * ldd, ldd, rows - a, cols);
}

// 8x8 tiles of bytes (SSE2): 8 input rows of 8 bytes, unpacked through 8-,
// 16- and 32-bit interleaves; each result register holds two output rows.
__attribute__((target("avx2"))) void Tile8Vec(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, int64_t rows,
                                              int64_t cols) {
  int64_t a = 0;
  for (; a + 8 <= rows; a += 8) {
    int64_t b = 0;
    for (; b + 8 <= cols; b += 8) {
      const uint8_t* s = src + a + b * lds;
      __m128i r[8];
      for (int k = 0; k < 8; ++k) r[k] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + k * lds));
      const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpacklo_epi8(r[2], r[3]);
      const __m128i t2 = _mm_unpacklo_epi8(r[4], r[5]), t3 = _mm_unpacklo_epi8(r[6], r[7]);
      const __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
      const __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
      const __m128i v[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2), _mm_unpacklo_epi32(u1, u3),
                            _mm_unpackhi_epi32(u1, u3)};
      uint8_t* d = dst + a * ldd + b;
      for (int k = 0; k < 4; ++k) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + (2 * k) * ldd), v[k]);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + (2 * k + 1) * ldd), _mm_unpackhi_epi64(v[k], v[k]));
      }
    }
    if (b < cols) TileScalar(src + a + b * lds, lds, dst + a * ldd + b, ldd, 8, cols - b);
  }
  if (a < rows) TileScalar(src + a, lds, dst + a * ldd, ldd, rows - a, cols);
}

// One block of `rows` input-contiguous elements by all `cols`, walked in
// kTileCols column blocks.
void TransposeBlock(const unsigned char* src, int64_t lds, unsigned char* dst, int64_t ldd, int64_t rows, int64_t cols,
                    size_t es, bool avx2) {
  for (int64_t b0 = 0; b0 < cols; b0 += kTileCols) {
    const int64_t nb = std::min(kTileCols, cols - b0);
    const unsigned char* s = src + static_cast<size_t>(b0 * lds) * es;
    unsigned char* d = dst + static_cast<size_t>(b0) * es;
    switch (es) {
      case 1:
        if (avx2)
          Tile8Vec(reinterpret_cast<const uint8_t*>(s), lds, reinterpret_cast<uint8_t*>(d), ldd, rows, nb);
        else
          TileScalar(reinterpret_cast<const uint8_t*>(s), lds, reinterpret_cast<uint8_t*>(d), ldd, rows, nb);
        break;
      case 2:
        if (avx2)
          Tile16Vec(reinterpret_cast<const uint16_t*>(s), lds, reinterpret_cast<uint16_t*>(d), ldd, rows, nb);
        else
          TileScalar(reinterpret_cast<const uint16_t*>(s), lds, reinterpret_cast<uint16_t*>(d), ldd, rows, nb);
        break;
      case 4:
        if (avx2)
          Tile32Avx2(reinterpret_cast<const float*>(s), lds, reinterpret_cast<float*>(d), ldd, rows, nb);
        else
          TileScalar(reinterpret_cast<const uint32_t*>(s), lds, reinterpret_cast<uint32_t*>(d), ldd, rows, nb);
        break;
      case 8:
        TileScalar(reinterpret_cast<const uint64_t*>(s), lds, reinterpret_cast<uint64_t*>(d), ldd, rows, nb);
        break;
      default:
        TileBytes(s, lds, d, ldd, rows, nb, es);
    }
  }
}

template <typename T>
void GatherRow(const T* src, int64_t step, T* dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
}

}  // namespace

StridedCopyPlan::StridedCopyPlan(const std::vector<int64_t>& shape, const std::vector<int64_t>& steps, int64_t base,
                                 size_t element_size, bool avx2)
    : base_(base), es_(element_size), avx2_(avx2) {
  count_ = 1;
  for (int64_t d : shape) count_ *= d;
  if (count_ <= 0) {
    path_ = Path::kEmpty;
    return;
  }
  // Drop size-1 dims (their step never applies), then merge from the inside
  // out every dim whose step chains onto the merged dim after it.
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    shape_.push_back(shape[k]);
    steps_.push_back(steps[k]);
  }
  std::vector<int64_t> ms, mt;
  for (size_t k = shape_.size(); k-- > 0;) {
    if (!ms.empty() && steps_[k] == mt.back() * ms.back()) {
      ms.back() *= shape_[k];
      continue;
    }
    ms.push_back(shape_[k]);
    mt.push_back(steps_[k]);
  }
  shape_.assign(ms.rbegin(), ms.rend());
  steps_.assign(mt.rbegin(), mt.rend());
  const size_t rank = shape_.size();
  out_strides_.assign(rank, 1);
  for (size_t k = rank; k-- > 1;) out_strides_[k - 1] = out_strides_[k] * shape_[k];
  if (rank == 0 || (rank == 1 && steps_[0] == 1)) {
    path_ = Path::kOneRun;
  } else if (steps_[rank - 1] == 1) {
    path_ = Path::kRuns;
  } else {
    path_ = Path::kGather;
    for (size_t k = 0; k + 1 < rank; ++k)
      if (steps_[k] == 1) {
        path_ = Path::kTranspose;
        t_ = k;
      }
  }
}

void StridedCopyPlan::Run(const void* input, void* output) const {
  const auto* in = static_cast<const unsigned char*>(input);
  auto* out = static_cast<unsigned char*>(output);
  switch (path_) {
    case Path::kEmpty:
      return;
    case Path::kOneRun:
      std::memcpy(out, in + static_cast<size_t>(base_) * es_, static_cast<size_t>(count_) * es_);
      return;
    case Path::kRuns:
      return RunRuns(in, out);
    case Path::kTranspose:
      return RunTranspose(in, out);
    case Path::kGather:
      return RunGather(in, out);
  }
}

void StridedCopyPlan::RunRuns(const unsigned char* in, unsigned char* out) const {
  Outer o;
  for (size_t k = 0; k + 1 < shape_.size(); ++k) o.Add(shape_[k], steps_[k], out_strides_[k]);
  const size_t run = static_cast<size_t>(shape_.back()) * es_;
  const unsigned char* src = in + static_cast<size_t>(base_) * es_;
  const size_t es = es_;
  ParallelOuter(o, count_, [&](int64_t in_off, int64_t out_off, int64_t) {
    std::memcpy(out + static_cast<size_t>(out_off) * es, src + in_off * static_cast<ptrdiff_t>(es), run);
  });
}

void StridedCopyPlan::RunTranspose(const unsigned char* in, unsigned char* out) const {
  const size_t last = shape_.size() - 1;
  const int64_t rows = shape_[t_], cols = shape_[last];
  const int64_t lds = steps_[last], ldd = out_strides_[t_];
  Outer o;
  for (size_t k = 0; k < last; ++k)
    if (k != t_) o.Add(shape_[k], steps_[k], out_strides_[k]);
  // Row blocks are the innermost outer dim, so small batches still split.
  o.Add((rows + kTileRows - 1) / kTileRows, kTileRows, kTileRows * ldd);
  const unsigned char* src = in + static_cast<size_t>(base_) * es_;
  const size_t es = es_;
  const bool avx2 = avx2_;
  ParallelOuter(o, count_, [&](int64_t in_off, int64_t out_off, int64_t block) {
    TransposeBlock(src + in_off * static_cast<ptrdiff_t>(es), lds, out + static_cast<size_t>(out_off) * es, ldd,
                   std::min(kTileRows, rows - block * kTileRows), cols, es, avx2);
  });
}

void StridedCopyPlan::RunGather(const unsigned char* in, unsigned char* out) const {
  Outer o;
  for (size_t k = 0; k + 1 < shape_.size(); ++k) o.Add(shape_[k], steps_[k], out_strides_[k]);
  const int64_t n = shape_.back(), step = steps_.back();
  const unsigned char* src = in + static_cast<size_t>(base_) * es_;
  const size_t es = es_;
  ParallelOuter(o, count_, [&](int64_t in_off, int64_t out_off, int64_t) {
    const unsigned char* s = src + in_off * static_cast<ptrdiff_t>(es);
    unsigned char* d = out + static_cast<size_t>(out_off) * es;
    switch (es) {
      case 1:
        return GatherRow(reinterpret_cast<const uint8_t*>(s), step, reinterpret_cast<uint8_t*>(d), n);
      case 2:
        return GatherRow(reinterpret_cast<const uint16_t*>(s), step, reinterpret_cast<uint16_t*>(d), n);
      case 4:
        return GatherRow(reinterpret_cast<const uint32_t*>(s), step, reinterpret_cast<uint32_t*>(d), n);
      case 8:
        return GatherRow(reinterpret_cast<const uint64_t*>(s), step, reinterpret_cast<uint64_t*>(d), n);
      default:
        for (int64_t j = 0; j < n; ++j)
          std::memcpy(d + static_cast<size_t>(j) * es, s + j * step * static_cast<ptrdiff_t>(es), es);
    }
  });
}

}  // namespace mixq::kernels
