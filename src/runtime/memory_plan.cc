#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace mixq::runtime {

namespace {
constexpr int64_t kAlign = 64;
int64_t AlignUp(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  struct Placed {
    int64_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  for (size_t index : order) {
    const BufferRequest& r = requests[index];
    const int64_t size = AlignUp(std::max<int64_t>(r.bytes, 1));
    // Blocks alive at the same time, by offset; take the first gap that fits.
    std::vector<Placed> conflicts;
    for (const Placed& p : placed)
      if (p.first <= r.last_step && r.first_step <= p.last) conflicts.push_back(p);
    std::sort(conflicts.begin(), conflicts.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    int64_t offset = 0;
    for (const Placed& p : conflicts) {
      if (offset + size <= p.offset) break;
      offset = std::max(offset, p.offset + p.size);
    }
    plan.offsets[index] = offset;
    plan.total_bytes = std::max(plan.total_bytes, offset + size);
    placed.push_back({offset, size, r.first_step, r.last_step});
  }
  return plan;
}

}  // namespace mixq::runtime
