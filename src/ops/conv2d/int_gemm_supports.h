// Which cases the integer GEMM convolutions of conv2d/cpu_avx2_gemm.cc take
// ("avx2-int8", "avx2-int8-u8s8", "avx512vnni-int8", "amx-int8",
// "avx2-int16", "amx-int16"): the kernel registry's `supports` of each.
#pragma once

#include "ops/op_schema.h"

namespace mixq::ops::int_gemm {

bool Supports(const KernelInit& init);
bool Supports16(const KernelInit& init);
bool SupportsU8S8(const KernelInit& init);
bool SupportsVnni(const KernelInit& init);
bool SupportsAmx(const KernelInit& init);
bool SupportsAmx16(const KernelInit& init);

}  // namespace mixq::ops::int_gemm
