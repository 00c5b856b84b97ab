#include "kernels/onednn.h"

namespace mixq::kernels {

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace mixq::kernels
