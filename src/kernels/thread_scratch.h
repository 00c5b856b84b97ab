// Scratch memory for a kernel's temporaries that live only during one Run
// (oneDNN's blocked copies of activations around a convolution), one set per
// thread and shared by every kernel that thread runs: a plan of N
// convolutions holds the largest one's temporaries, not the sum of all N
// (ResNet-50: about 95 MB less). A context runs its steps one after another
// on its calling thread, so one kernel's temporaries never outlive its Run.
#pragma once

#include <cstddef>

namespace mixq::kernels {

constexpr int kScratchSlots = 4;

// At least `bytes` of 64-byte aligned memory for `slot` (0 .. kScratchSlots - 1)
// on the calling thread, valid until this thread asks for the same slot
// again; the contents are not kept when it grows. Null if it cannot be
// allocated.
void* ThreadScratch(int slot, size_t bytes);

}  // namespace mixq::kernels
