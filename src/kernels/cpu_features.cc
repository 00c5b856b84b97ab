#include "kernels/cpu_features.h"

#include <cstdlib>

namespace mixq::kernels {

const CpuFeatures& DetectedCpuFeatures() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = __builtin_cpu_supports("f16c");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
    f.avx_vnni = __builtin_cpu_supports("avxvnni");
#endif
    return f;
  }();
  return features;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return "generic";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512_vnni";
  }
  return "?";
}

bool ParseIsa(const std::string& name, Isa* isa) {
  for (Isa candidate : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni})
    if (name == IsaName(candidate)) {
      *isa = candidate;
      return true;
    }
  return false;
}

Isa BestIsa() {
  static const Isa best = [] {
    const CpuFeatures& f = DetectedCpuFeatures();
    Isa isa = Isa::kGeneric;
    if (f.avx2 && f.fma && f.f16c) isa = Isa::kAvx2;
    if (isa == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl) isa = Isa::kAvx512;
    if (isa == Isa::kAvx512 && f.avx512vnni) isa = Isa::kAvx512Vnni;
    Isa cap;
    if (const char* env = std::getenv("MIXQ_MAX_ISA"); env && ParseIsa(env, &cap) && cap < isa) isa = cap;
    return isa;
  }();
  return best;
}

std::string CpuFeatureString() {
  const CpuFeatures& f = DetectedCpuFeatures();
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (on) {
      if (!s.empty()) s += " ";
      s += std::string(name);
    }
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx512bf16, "avx512bf16");
  add(f.avx_vnni, "avxvnni");
  return s.empty() ? "none" : s;
}

}  // namespace mixq::kernels
