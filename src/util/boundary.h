// The public API's last line of defence (DESIGN rule 4): no exception crosses
// it. Expected failures are Statuses already; this turns the unexpected ones
// (an allocation the machine refuses inside a container, a library throwing)
// into a Status naming the call, instead of terminating the user's program.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "util/status_util.h"

namespace mixq {

template <typename Fn>
Status StatusAtBoundary(const char* call, Fn&& fn) noexcept {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(call, ": out of memory");
  } catch (const std::exception& e) {
    return Internal(call, ": unexpected exception: ", e.what());
  } catch (...) {
    return Internal(call, ": unexpected exception");
  }
}

}  // namespace mixq
