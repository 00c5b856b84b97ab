// The row widenings of conv_rows.h against their scalar definitions, over
// every length up to 80 (whole 16-value steps, tails, rows too short for a
// step), from buffers holding exactly the values a row may read (so that a
// read past them is an AddressSanitizer error), full-range codes and zero
// points.
#include "ops/conv2d/conv_rows.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"

namespace mixq::ops {
namespace {

template <typename T>
void CheckEvenRows() {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  for (const int32_t zp : {0, -128, 127, 5}) {
    for (int64_t n = 1; n <= 80; ++n) {
      std::vector<T> src(static_cast<size_t>(2 * n - 1));  // EvenRowToS16 reads src[0, 2 n - 1)
      for (auto& v : src) v = static_cast<T>(code(rng));
      src[0] = std::numeric_limits<T>::min();
      src.back() = std::numeric_limits<T>::max();
      std::vector<int16_t> got(static_cast<size_t>(n) + 1, 0x5A5A);
      EvenRowToS16(src.data(), n, zp, got.data());
      for (int64_t t = 0; t < n; ++t)
        ASSERT_EQ(got[static_cast<size_t>(t)], static_cast<int16_t>(src[static_cast<size_t>(2 * t)] - zp))
            << "n " << n << " t " << t << " zp " << zp;
      EXPECT_EQ(got.back(), 0x5A5A) << "written past n = " << n;
    }
  }
}

TEST(ConvRows, EvenRowToS16MatchesTheScalarDefinition) {
  if (kernels::BestIsa() < kernels::Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  CheckEvenRows<int16_t>();
  CheckEvenRows<int8_t>();
}

}  // namespace
}  // namespace mixq::ops
