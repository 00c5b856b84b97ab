#include "kernels/cpu_features.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mixq::kernels {

namespace {

#if defined(__x86_64__) || defined(__i386__)
bool Bit(uint32_t reg, int bit) {
  return (reg >> bit) & 1u;
}

// XCR0: which register states the OS saves (AVX needs bits 1-2, AVX-512 5-7).
uint64_t ReadXcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// Linux keeps AMX tile data off until a process asks (arch_prctl
// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); oneDNN asks the same way.
bool RequestAmxPermission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif

}  // namespace

// cpuid directly (not __builtin_cpu_supports, whose feature names differ
// between GCC and Clang), and only features the OS enables.
const CpuFeatures& DetectedCpuFeatures() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    uint32_t a = 0, b = 0, c = 0, d = 0;
    // "GenuineIntel" in ebx, edx, ecx.
    if (__get_cpuid(0, &a, &b, &c, &d)) f.intel = b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = Bit(c, 27), avx = Bit(c, 28);
    const uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
    const bool ymm = avx && (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
    f.fma = ymm && Bit(c, 12);
    f.f16c = ymm && Bit(c, 29);
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      f.avx2 = ymm && Bit(b, 5);
      f.avx512f = zmm && Bit(b, 16);
      f.avx512bw = zmm && Bit(b, 30);
      f.avx512vl = zmm && Bit(b, 31);
      f.avx512vnni = zmm && Bit(c, 11);
      f.avx512vbmi = zmm && Bit(c, 1);
      f.avx512fp16 = zmm && Bit(d, 23);
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
      f.avx_vnni = ymm && Bit(a, 4);
      f.avx512bf16 = zmm && Bit(a, 5);
    }
    // AMX: AMX-TILE (leaf 7 edx bit 24) with AMX-INT8 (bit 25) or AMX-BF16
    // (bit 22), the tile state in XCR0 (bits 17-18), and Linux's
    // per-process permission for the 8 KiB of tile data.
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && Bit(d, 24) && (Bit(d, 25) || Bit(d, 22)) &&
        (xcr0 & 0x60000) == 0x60000 && RequestAmxPermission()) {
      f.amx_int8 = Bit(d, 25);
      f.amx_bf16 = Bit(d, 22) && f.avx512bf16;
    }
#endif
    return f;
  }();
  return features;
}

namespace {
std::atomic<int> gather_tables_forced{-1};
std::atomic<int> onednn_float_gemm_forced{-1};
std::atomic<int> float16_arithmetic_forced{-1};
}  // namespace

bool Float16ArithmeticPays() {
  const bool available = DetectedCpuFeatures().avx512fp16 && BestIsa() >= Isa::kAvx512;
  return available && float16_arithmetic_forced.load(std::memory_order_relaxed) != 0;
}

void SetFloat16ArithmeticForTesting(int forced) {
  float16_arithmetic_forced.store(forced, std::memory_order_relaxed);
}

bool GatherTablesPay() {
  const int forced = gather_tables_forced.load(std::memory_order_relaxed);
  return forced >= 0 ? forced != 0 : DetectedCpuFeatures().intel;
}

void SetGatherTablesForTesting(int forced) {
  gather_tables_forced.store(forced, std::memory_order_relaxed);
}

bool OneDnnFloatGemmPays() {
  const int forced = onednn_float_gemm_forced.load(std::memory_order_relaxed);
  return forced >= 0 ? forced != 0 : DetectedCpuFeatures().intel && BestIsa() >= Isa::kAvx512;
}

void SetOneDnnFloatGemmForTesting(int forced) {
  onednn_float_gemm_forced.store(forced, std::memory_order_relaxed);
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
    case Isa::kAmx:
      return "amx";
  }
  return "?";
}

bool ParseIsa(const std::string& name, Isa* isa) {
  for (Isa candidate : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAmx})
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
    if (isa == Isa::kAvx512Vnni && f.amx_int8) isa = Isa::kAmx;
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
  add(f.avx512vbmi, "avx512vbmi");
  add(f.avx512bf16, "avx512bf16");
  add(f.avx512fp16, "avx512fp16");
  add(f.avx_vnni, "avxvnni");
  add(f.amx_int8, "amx-int8");
  add(f.amx_bf16, "amx-bf16");
  return s.empty() ? "none" : s;
}

}  // namespace mixq::kernels
