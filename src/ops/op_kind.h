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

// The operator's name as its schema gives it ("Conv2D"); "?" out of range.
// Only the list of ops.def, so ir/ can name nodes without knowing schemas.
inline const char* OpKindName(OpKind kind) {
  static const char* const kNames[] = {
#define MIXQ_OP(kind, folder) #kind,
#include "ops/ops.def"
#undef MIXQ_OP
  };
  const auto i = static_cast<int32_t>(kind);
  return i >= 0 && i < static_cast<int32_t>(OpKind::kCount) ? kNames[i] : "?";
}

}  // namespace mixq
