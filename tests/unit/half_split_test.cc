// kernels/half_split.h: every float16 value (all 65536 bit patterns) splits
// into two bfloat16 values whose float32 sum is the value exactly; the
// vector forms write what the scalar form says, in the A-tile layout, from
// strided pixels and from row-major rows (a K tail zero, never the next
// row's values), with the rows past the block zero.
#include "kernels/half_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu_features.h"
#include "util/half.h"

namespace mixq::kernels {
namespace {

bool IsBFloat16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & 0xffffu) == 0;
}

TEST(HalfSplit, EveryFloat16ValueIsTheExactSumOfItsTwoBFloat16Halves) {
  int finite = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float x = HalfToFloat(static_cast<uint16_t>(h));
    float hi, lo;
    SplitHalfValue(static_cast<uint16_t>(h), &hi, &lo);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(hi)) << h;
      continue;
    }
    ASSERT_TRUE(IsBFloat16(hi) && IsBFloat16(lo)) << h;
    if (std::isinf(x)) {
      EXPECT_EQ(hi, x) << h;
      EXPECT_EQ(lo, 0.0f) << h;
      continue;
    }
    ++finite;
    ASSERT_EQ(static_cast<double>(hi) + lo, static_cast<double>(x)) << h;
    // hi is x rounded to bfloat16: lo within half a bfloat16 step of hi.
    EXPECT_LE(std::fabs(lo), std::ldexp(std::fabs(hi), -8)) << h;
    // Non-zero x never splits into a zero hi (wh == 0 only where w == 0).
    if (x != 0.0f) {
      EXPECT_NE(hi, 0.0f) << h;
    }
  }
  EXPECT_EQ(finite, 65536 - 2048);  // all but the 2046 NaNs and the 2 infinities
}

// The tile rows of a block of pixels: (hi, hi) and (lo, lo) pairs per
// channel, (x, 0) for an infinite x, rows past `rows` zero.
void CheckTiles(const std::vector<uint16_t>& x, int64_t channels, int64_t height, int64_t width, int64_t stride_h,
                int64_t stride_w, int64_t out_w, int64_t p0, int64_t rows) {
  std::vector<uint16_t> tiles(static_cast<size_t>(channels / 16 * 2048 + 64), 0xdead);
  auto* out = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(tiles.data()) + 63) / 64 * 64);
  SplitHalfPixelsToPairTiles(x.data(), channels, height, width, stride_h, stride_w, out_w, p0, rows, out);
  for (int64_t b = 0; b < channels / 16; ++b)
    for (int64_t r = 0; r < 32; ++r)
      for (int64_t l = 0; l < 16; ++l) {
        const uint16_t* hi = out + b * 2048 + r * 32 + 2 * l;
        const uint16_t* lo = hi + 1024;
        if (r >= rows) {
          ASSERT_TRUE(hi[0] == 0 && hi[1] == 0 && lo[0] == 0 && lo[1] == 0) << b << " " << r;
          continue;
        }
        const int64_t p = p0 + r, at = (p / out_w * stride_h) * width + p % out_w * stride_w;
        const uint16_t v = x[static_cast<size_t>((b * height * width + at) * 16 + l)];
        float h, lw;
        SplitHalfValue(v, &h, &lw);
        const float x32 = HalfToFloat(v);
        const float got_hi0 = BFloat16ToFloat(hi[0]), got_hi1 = BFloat16ToFloat(hi[1]);
        const float got_lo0 = BFloat16ToFloat(lo[0]), got_lo1 = BFloat16ToFloat(lo[1]);
        if (std::isnan(x32)) {
          ASSERT_TRUE(std::isnan(got_hi0) && std::isnan(got_hi1)) << v;
        } else if (std::isinf(x32)) {
          ASSERT_TRUE(got_hi0 == x32 && got_hi1 == 0.0f && got_lo0 == 0.0f && got_lo1 == 0.0f) << v;
        } else {
          ASSERT_TRUE(got_hi0 == h && got_hi1 == h && got_lo0 == lw && got_lo1 == lw)
              << "block " << b << " row " << r << " lane " << l << ": " << x32;
        }
      }
}

TEST(HalfSplit, TileRowsFromStridedPixelsMatchTheScalarSplit) {
  const CpuFeatures& cpu = DetectedCpuFeatures();
  if (!cpu.avx512bf16 || !cpu.avx512bw || !cpu.f16c) GTEST_SKIP() << "needs AVX512-BF16";
  // Every float16 bit pattern, over 3 blocks of 16 channels of a 37 x 29 image, twice over.
  const int64_t channels = 48, height = 37, width = 29;
  std::vector<uint16_t> x(static_cast<size_t>(channels * height * width));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint16_t>(i * 40503u);  // odd: every value
  CheckTiles(x, channels, height, width, 1, 1, width, 0, 32);
  CheckTiles(x, channels, height, width, 1, 1, width, 1040, 32);
  CheckTiles(x, channels, height, width, 1, 1, width, height * width - 5, 5);  // the last 5 pixels, 27 zero rows
  CheckTiles(x, channels, height, width, 2, 2, 15, 60, 17);                    // stride 2: 19 x 15 outputs
  CheckTiles(x, channels, height, width, 1, 2, 15, 500, 32);                   // strides 1 x 2
  // Every value through the vector path: all 65536 patterns as one channel block.
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  for (int64_t p0 = 0; p0 < 4096; p0 += 32) CheckTiles(all, 16, 64, 64, 1, 1, 64, p0, 32);
}

// Row-major rows: chunks of 16 values of K, the last one partial (zero past
// K: never the next row's values), rows past the block zero.
TEST(HalfSplit, MatrixRowsInChunksOfSixteenWithAZeroTail) {
  const CpuFeatures& cpu = DetectedCpuFeatures();
  if (!cpu.avx512bf16 || !cpu.avx512bw || !cpu.f16c) GTEST_SKIP() << "needs AVX512-BF16";
  for (int64_t k : {16, 37, 300}) {
    const int64_t lda = k + 3, m = 45;
    std::vector<uint16_t> a(static_cast<size_t>(m * lda));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint16_t>(i * 40503u);
    const int64_t chunks = (k + 15) / 16;
    std::vector<uint16_t> tiles(static_cast<size_t>(chunks * 2048 + 64), 0xdead);
    auto* out = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(tiles.data()) + 63) / 64 * 64);
    for (int64_t r0 : {int64_t{0}, int64_t{32}}) {
      const int64_t rows = std::min<int64_t>(32, m - r0);
      SplitHalfRowsToPairTiles(a.data(), lda, k, r0, rows, out);
      for (int64_t c = 0; c < chunks; ++c)
        for (int64_t r = 0; r < 32; ++r)
          for (int64_t l = 0; l < 16; ++l) {
            const uint16_t* hi = out + c * 2048 + r * 32 + 2 * l;
            const uint16_t* lo = hi + 1024;
            if (r >= rows || c * 16 + l >= k) {
              ASSERT_TRUE(hi[0] == 0 && hi[1] == 0 && lo[0] == 0 && lo[1] == 0)
                  << k << " " << c << " " << r << " " << l;
              continue;
            }
            const uint16_t v = a[static_cast<size_t>((r0 + r) * lda + c * 16 + l)];
            const float x32 = HalfToFloat(v);
            float h, lw;
            SplitHalfValue(v, &h, &lw);
            if (std::isnan(x32)) {
              ASSERT_TRUE(std::isnan(BFloat16ToFloat(hi[0])));
            } else if (std::isinf(x32)) {
              ASSERT_TRUE(BFloat16ToFloat(hi[0]) == x32 && hi[1] == 0 && lo[0] == 0 && lo[1] == 0);
            } else {
              ASSERT_TRUE(BFloat16ToFloat(hi[0]) == h && BFloat16ToFloat(hi[1]) == h && BFloat16ToFloat(lo[0]) == lw &&
                          BFloat16ToFloat(lo[1]) == lw)
                  << k << " " << c << " " << r << " " << l;
            }
          }
    }
  }
}

}  // namespace
}  // namespace mixq::kernels
