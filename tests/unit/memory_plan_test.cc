// Activation memory planning: sharing, alignment, no overlap of live buffers.
#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace mixq::runtime {
namespace {

TEST(MemoryPlan, ChainReusesTwoBuffers) {
  // a -> b -> c -> d, each 1000 bytes: at most two are alive at once.
  std::vector<BufferRequest> r = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan plan = PlanMemory(r);
  EXPECT_EQ(plan.total_bytes, 2 * 1024);  // 1000 rounded up to 64-byte multiples
  for (int64_t offset : plan.offsets) EXPECT_EQ(offset % 64, 0);
}

TEST(MemoryPlan, RandomLifetimesNeverOverlap) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> r(30);
    for (auto& q : r) {
      q.bytes = std::uniform_int_distribution<int64_t>(1, 5000)(rng);
      q.first_step = std::uniform_int_distribution<int>(0, 20)(rng);
      q.last_step = q.first_step + std::uniform_int_distribution<int>(0, 5)(rng);
    }
    MemoryPlan plan = PlanMemory(r);
    for (size_t i = 0; i < r.size(); ++i) {
      EXPECT_LE(plan.offsets[i] + r[i].bytes, plan.total_bytes);
      for (size_t j = i + 1; j < r.size(); ++j) {
        bool alive_together = r[i].first_step <= r[j].last_step && r[j].first_step <= r[i].last_step;
        bool overlap = plan.offsets[i] < plan.offsets[j] + r[j].bytes && plan.offsets[j] < plan.offsets[i] + r[i].bytes;
        EXPECT_FALSE(alive_together && overlap) << "trial " << trial << " buffers " << i << ", " << j;
      }
    }
  }
}

}  // namespace
}  // namespace mixq::runtime
