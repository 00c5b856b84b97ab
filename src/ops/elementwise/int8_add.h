// The int8 add of two same-shape tensors inside an integer chain, shared by
// its ISA forms (cpu_avx2_int8.cc, cpu_avx512_int8.cc): each supplies the
// loop over a range of elements; the kernel splits the tensor into chunks
// over the threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/int8_chain.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

// n sums of a[i] and b[i] into `out`: int8 codes with po's parameters, or
// float32 when !int_out.
using Int8AddRange = void (*)(const int8_t* a, const int8_t* b, int64_t n, Int8Params pa, Int8Params pb, bool int_out,
                              Int8Params po, void* out);

// The affine form of an int8 add with an int8 output (int8_add.cc): for codes
// a and b, y = a * ka + (b * kb + c) in two fused multiply-adds, converted
// to int32 rounding half to even and saturated to int8; then the codes of
// the patched pairs replaced. Fitted once per kernel against the exact
// form on all 65536 pairs of codes, so it is exact by exhaustion.
struct Int8AddAffine {
  float ka = 0, kb = 0, c = 0;
  // Pairs whose affine code differs from the exact one, keyed a * 256 +
  // uint8(b) (a sign-extended), and their exact codes.
  std::vector<int32_t> patch_keys;
  std::vector<int8_t> patch_codes;
};
// At most this many patches: each costs a compare and a blend per vector.
constexpr size_t kMaxInt8AddPatches = 8;

// n affine sums of a[i] and b[i] into out (int8 codes).
using Int8AddAffineRange = void (*)(const int8_t* a, const int8_t* b, int64_t n, const Int8AddAffine& form,
                                    int8_t* out);

// Fits the affine form to `exact` (an Int8AddRange with an int8 output) on
// every pair of codes: the constants from the scales and zero points, then
// up to a few ulps either side, keeping the first with no mismatch or else
// the fewest; false when even that needs more than kMaxInt8AddPatches.
bool FitInt8AddAffine(Int8AddRange exact, Int8AddAffineRange affine, Int8Params pa, Int8Params pb, Int8Params po,
                      Int8AddAffine* form);

// Tests: 1 / 0 forces the affine form on (where it fits) or off; -1 restores the default (on).
void SetInt8AddAffineForTesting(int forced);
// Tests: how the add kernel runs: "affine" (with its patch count), "table" or "computed".
std::string Int8AddForm(const Kernel& kernel);

// The integer bounds of a relu / relu6 / clip fused after an int8 add
// (runtime/fusion/fuse_activation.cc: the activation's input and output
// share the add output's parameters, so it clamps the codes as its own step
// would); [-128, 127] when nothing is fused; false for any other post-op.
bool FusedClampOfInt8Add(const KernelInit& init, int32_t* lo, int32_t* hi);
// An int8 add step (lut_function.h Int8AddStep) whose inputs have the
// output's shape, with at most a fused clamp.
bool SameShapeInt8Add(const KernelInit& init);

// KernelDef::blocked_slots: both inputs and an int8 output in kChannelsLast
// (element by element, the order of the elements does not matter as long
// as all three share it: SameShapeInt8Add checks they do).
void Int8AddLayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs);

// The kernel named `name` running `range` over chunks of the elements,
// or `affine` where it fits (int8 outputs of at least kMinAffineElements);
// `avx512`: its table lookups (int8_add.cc) 16 pairs at a time, else 8.
Status MakeInt8Add(const KernelInit& init, const char* name, Int8AddRange range, Int8AddAffineRange affine,
                   std::unique_ptr<Kernel>* kernel, bool avx512 = false);

}  // namespace mixq::ops
