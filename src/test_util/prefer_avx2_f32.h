// For tests of the avx2-f32 GEMM's selection: while alive, the registry
// prefers avx2-f32 wherever it computes the step, as on AMD CPUs, also on an
// Intel CPU with AVX-512, where it otherwise leaves the step to oneDNN
// (kernels::OneDnnFloatGemmPays).
#pragma once

#include "kernels/cpu_features.h"

namespace mixq::test_util {

struct PreferAvx2F32 {
  PreferAvx2F32() { kernels::SetOneDnnFloatGemmForTesting(0); }
  ~PreferAvx2F32() { kernels::SetOneDnnFloatGemmForTesting(-1); }
  PreferAvx2F32(const PreferAvx2F32&) = delete;
  PreferAvx2F32& operator=(const PreferAvx2F32&) = delete;
};

// The same switch for the float16 pointwise kernels' tests (avx2-f16-pw,
// avx512-f16-pw), which leave one-thread steps to oneDNN where its float32
// kernels pay.
using PreferMixqFloatKernels = PreferAvx2F32;

}  // namespace mixq::test_util
