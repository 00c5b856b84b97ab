// OpKind: one enumerator per entry of ops.def.
#pragma once

#include <cstdint>

namespace mixq {

enum class OpKind : int32_t {
#define MIXQ_OP(kind, folder) k##kind,
#include "ops/ops.def"
#undef MIXQ_OP
  kCount,
};

}  // namespace mixq
