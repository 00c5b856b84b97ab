#include "kernels/onednn.h"

namespace mixq::kernels {

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::string DescKey(const dnnl::memory::desc& md) {
  static const char* hex = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(&md.data);
  std::string key;
  key.reserve(2 * sizeof(md.data));
  for (size_t i = 0; i < sizeof(md.data); ++i) {
    key += hex[bytes[i] >> 4];
    key += hex[bytes[i] & 15];
  }
  return key;
}

}  // namespace mixq::kernels
