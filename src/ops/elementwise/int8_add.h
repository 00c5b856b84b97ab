// The int8 add of two same-shape tensors inside an integer chain, shared by
// its ISA forms (cpu_avx2_int8.cc, cpu_avx512_int8.cc): each supplies the
// loop over a range of elements; the kernel splits the tensor into chunks
// over the threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

// n sums of a[i] and b[i] into `out`: int8 codes with po's parameters, or
// float32 when !int_out.
using Int8AddRange = void (*)(const int8_t* a, const int8_t* b, int64_t n, Int8Params pa, Int8Params pb, bool int_out,
                              Int8Params po, void* out);

// An int8 add step (lut_function.h Int8AddStep) whose inputs have the output's shape.
bool SameShapeInt8Add(const KernelInit& init);

// KernelDef::blocked_slots: both inputs and an int8 output in kChannelsLast
// (element by element, the order of the elements does not matter as long
// as all three share it: SameShapeInt8Add checks they do).
void Int8AddLayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs);

// The kernel named `name` running `range` over chunks of the elements;
// `avx512`: its table lookups (int8_add.cc) 16 pairs at a time, else 8.
Status MakeInt8Add(const KernelInit& init, const char* name, Int8AddRange range, std::unique_ptr<Kernel>* kernel,
                   bool avx512 = false);

}  // namespace mixq::ops
