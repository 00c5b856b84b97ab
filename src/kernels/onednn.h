// oneDNN (DNNL 2.6) plumbing shared by the optimized CPU kernels: one CPU
// engine for the process, and errors turned into Status (oneDNN throws).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "mixq/types.h"

namespace mixq::kernels {

dnnl::engine& CpuEngine();

// A string identifying a memory descriptor (dims, type, layout), to key
// weights packed for it in the engine's weight cache.
std::string DescKey(const dnnl::memory::desc& md);

// Runs `fn`, turning a dnnl::error (or any std::exception) into INTERNAL
// naming `what`: oneDNN reports through exceptions, mixq through Status.
template <typename Fn>
Status OneDnnCall(const char* what, Fn&& fn) {
  try {
    fn();
    return Status::OK();
  } catch (const dnnl::error& e) {
    return Status(StatusCode::INTERNAL,
                  std::string(what) + ": oneDNN error " + std::to_string(e.status) + ": " + e.what());
  } catch (const std::exception& e) {
    return Status(StatusCode::INTERNAL, std::string(what) + ": " + e.what());
  }
}

}  // namespace mixq::kernels
