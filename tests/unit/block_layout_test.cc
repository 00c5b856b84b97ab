// kernels/block_layout.h against the index formulas of oneDNN's nChw8c /
// nChw16c and NHWC, over channel counts with and without a partial last block, pixel
// counts with tails of every length (and past one job of 1024 pixels), at 1
// and 2 threads; the values are distinct bit patterns, NaN and infinities
// among them, so that any misplaced or altered element shows.
#include "kernels/block_layout.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace mixq::testing {
namespace {

std::vector<float> DistinctValues(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) * 0.25f - 7.0f;
  if (n > 3) {
    v[1] = std::numeric_limits<float>::quiet_NaN();
    v[2] = std::numeric_limits<float>::infinity();
    v[3] = -0.0f;
  }
  return v;
}

bool SameBits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

class BlockLayoutTest : public ::testing::TestWithParam<int> {};

TEST_P(BlockLayoutTest, PlanesToBlockedAndBackMatchTheIndexFormula) {
  omp_set_num_threads(GetParam());
  for (int64_t block_or_nhwc : {8, 16, 0})  // 0: NHWC, one block of all channels
    for (int64_t channels : {1, 3, 8, 13, 16, 24, 40, 96})
      for (int64_t spatial : {1, 7, 8, 9, 15, 63, 1024 + 5, 3136}) {
        if (block_or_nhwc == 0 && channels % 8 != 0) continue;
        const int64_t block = block_or_nhwc == 0 ? channels : block_or_nhwc;
        SCOPED_TRACE(::testing::Message() << "block " << block << " channels " << channels << " spatial " << spatial);
        const int64_t padded = (channels + block - 1) / block * block;
        const std::vector<float> x = DistinctValues(channels * spatial);
        std::vector<float> y(static_cast<size_t>(padded * spatial), 99.0f);  // padding must come out 0
        kernels::PlanesToBlocked(x.data(), y.data(), channels, spatial, block);
        for (int64_t c = 0; c < padded; ++c)
          for (int64_t s = 0; s < spatial; ++s) {
            const float got = y[static_cast<size_t>(((c / block) * spatial + s) * block + c % block)];
            const float want = c < channels ? x[static_cast<size_t>(c * spatial + s)] : 0.0f;
            ASSERT_TRUE(SameBits(got, want)) << "c " << c << " s " << s << ": " << got << " vs " << want;
          }
        std::vector<float> back(x.size(), 99.0f);
        kernels::BlockedToPlanes(y.data(), back.data(), channels, spatial, block);
        for (size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(SameBits(back[i], x[i])) << "element " << i;
      }
  omp_set_num_threads(1);
}

// BlockedToPlanes writes the real channels only: what follows the planes
// stays as it was (a padded block's lanes are never copied out).
TEST(BlockLayout, BlockedToPlanesWritesOnlyTheRealChannels) {
  const int64_t channels = 24, spatial = 19, block = 16;
  std::vector<float> y(static_cast<size_t>(32 * spatial), 5.0f);
  std::vector<float> x(static_cast<size_t>(channels * spatial + 8), -1.0f);
  kernels::BlockedToPlanes(y.data(), x.data(), channels, spatial, block);
  for (int64_t i = 0; i < channels * spatial; ++i) EXPECT_EQ(x[static_cast<size_t>(i)], 5.0f);
  for (int64_t i = channels * spatial; i < channels * spatial + 8; ++i) EXPECT_EQ(x[static_cast<size_t>(i)], -1.0f);
}

// 16-bit NCHW <-> NHWC: every channel count from 1 to 20 (remainders of
// the 8 x 8 transposes) and 96, pixel tails of every length and past a job.
TEST_P(BlockLayoutTest, ChannelsLast16MatchesTheIndexFormula) {
  omp_set_num_threads(GetParam());
  std::vector<int64_t> channel_counts;
  for (int64_t c = 1; c <= 20; ++c) channel_counts.push_back(c);
  channel_counts.push_back(96);
  for (int64_t channels : channel_counts)
    for (int64_t spatial : {1, 7, 8, 9, 17, 1024 + 3, 6400}) {
      SCOPED_TRACE(::testing::Message() << "channels " << channels << " spatial " << spatial);
      std::vector<uint16_t> x(static_cast<size_t>(channels * spatial));
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint16_t>(i * 40503u + 7u);  // distinct in 2^16
      std::vector<uint16_t> y(x.size() + 4, 0xBEEF);
      kernels::PlanesToChannelsLast16(x.data(), y.data(), channels, spatial);
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t s = 0; s < spatial; ++s)
          ASSERT_EQ(y[static_cast<size_t>(s * channels + c)], x[static_cast<size_t>(c * spatial + s)])
              << "c " << c << " s " << s;
      for (size_t i = x.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 0xBEEF) << "written past the tensor";
      std::vector<uint16_t> back(x.size() + 4, 0xBEEF);
      kernels::ChannelsLastToPlanes16(y.data(), back.data(), channels, spatial);
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(back[i], x[i]) << "element " << i;
      for (size_t i = x.size(); i < back.size(); ++i) ASSERT_EQ(back[i], 0xBEEF) << "written past the tensor";
    }
  omp_set_num_threads(1);
}

INSTANTIATE_TEST_SUITE_P(Threads, BlockLayoutTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace mixq::testing
