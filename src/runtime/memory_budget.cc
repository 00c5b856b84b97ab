#include "runtime/memory_budget.h"

#include "util/status_util.h"

namespace mixq::runtime {

Status CheckActivationBudget(int64_t bytes, int64_t budget) {
  if (budget <= 0 || bytes <= budget) return Status::OK();
  const double mib = 1.0 / (1024.0 * 1024.0);
  return ResourceExhausted("the input shapes need ", bytes, " bytes (", static_cast<double>(bytes) * mib,
                           " MiB) of activation memory, more than the context's budget of ", budget, " bytes (",
                           static_cast<double>(budget) * mib,
                           " MiB); raise ContextOptions::max_activation_bytes or use smaller inputs");
}

}  // namespace mixq::runtime
