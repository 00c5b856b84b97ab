#include "kernels/thread_scratch.h"

#include <cstdlib>
#include <memory>

namespace mixq::kernels {

namespace {

struct Free {
  void operator()(void* p) const { std::free(p); }
};

struct Slot {
  std::unique_ptr<void, Free> data;
  size_t bytes = 0;
};

}  // namespace

void* ThreadScratch(int slot, size_t bytes) {
  thread_local Slot slots[kScratchSlots];
  if (slot < 0 || slot >= kScratchSlots) return nullptr;
  Slot& s = slots[slot];
  if (bytes > s.bytes || !s.data) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    s.data.reset();  // free first: the old contents are not needed
    s.bytes = 0;
    s.data.reset(std::aligned_alloc(64, rounded == 0 ? 64 : rounded));
    if (s.data) s.bytes = rounded;
  }
  return s.data.get();
}

}  // namespace mixq::kernels
