// Activation memory planning: buffers whose lifetimes do not overlap share bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace mixq::runtime {

struct BufferRequest {
  int64_t bytes = 0;
  int first_step = 0;  // step that writes it
  int last_step = 0;   // last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, 64-byte aligned
  int64_t total_bytes = 0;       // the arena size: peak of live bytes incl. fragmentation
};

// Greedy by size, largest first, each at the lowest offset that does not
// collide with an already placed buffer alive at the same time.
MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests);

}  // namespace mixq::runtime
