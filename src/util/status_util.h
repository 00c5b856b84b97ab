// Helpers to build Status messages and to propagate errors.
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "mixq/types.h"

namespace mixq {

template <typename... Args>
std::string StrCat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
Status InvalidArgument(Args&&... args) {
  return Status(StatusCode::INVALID_ARGUMENT, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status Unimplemented(Args&&... args) {
  return Status(StatusCode::UNIMPLEMENTED, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status NotFound(Args&&... args) {
  return Status(StatusCode::NOT_FOUND, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status FailedPrecondition(Args&&... args) {
  return Status(StatusCode::FAILED_PRECONDITION, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status DataLoss(Args&&... args) {
  return Status(StatusCode::DATA_LOSS, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status Internal(Args&&... args) {
  return Status(StatusCode::INTERNAL, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status ResourceExhausted(Args&&... args) {
  return Status(StatusCode::RESOURCE_EXHAUSTED, StrCat(std::forward<Args>(args)...));
}
template <typename... Args>
Status OutOfRange(Args&&... args) {
  return Status(StatusCode::OUT_OF_RANGE, StrCat(std::forward<Args>(args)...));
}

// Same code, message prefixed with context ("node 'conv1': ...").
inline Status WithContext(const Status& status, const std::string& context) {
  if (status.ok()) return status;
  return Status(status.code(), context + ": " + status.message());
}

}  // namespace mixq

#define MIXQ_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::mixq::Status mixq_status_ = (expr);   \
    if (!mixq_status_.ok()) return mixq_status_; \
  } while (0)
