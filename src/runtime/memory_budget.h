// The activation memory budget of a context (ContextOptions::max_activation_bytes).
#pragma once

#include <cstdint>

#include "mixq/types.h"

namespace mixq::runtime {

// OK when `bytes` of planned activation memory fit `budget`; a budget <= 0
// means no limit. RESOURCE_EXHAUSTED with both figures otherwise, so a model
// that would need more (a Resize blowing a shape up) is refused when the
// context is prepared, before anything is allocated.
Status CheckActivationBudget(int64_t bytes, int64_t budget);

}  // namespace mixq::runtime
