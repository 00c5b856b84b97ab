// CPU features found at run time, so one binary runs on any x86-64 and picks
// its kernels from what the CPU at hand has (SPEC §6).
#pragma once

#include <string>

namespace mixq::kernels {

// Instruction-set tiers a hand-written kernel may need, lowest first.
enum class Isa { kGeneric = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAmx = 4 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
  bool avx512vbmi = false;  // vpermb / vpermi2b: byte permutes across a whole zmm
  bool avx512fp16 = false;  // float16 arithmetic (vmulph, vaddph, ...), Sapphire Rapids on
  bool avx_vnni = false;
  // AMX tiles with int8 dot products, enabled by the OS (XCR0) and granted to
  // this process (Linux arch_prctl ARCH_REQ_XCOMP_PERM, asked once here).
  bool amx_int8 = false;
  // AMX tiles with bfloat16 dot products (TDPBF16PS), with AVX512_BF16 for
  // the conversions around them; granted as amx_int8 is.
  bool amx_bf16 = false;
  // The vendor string of cpuid leaf 0 is "GenuineIntel".
  bool intel = false;
};

// Detected once (cpuid through the compiler's builtins).
const CpuFeatures& DetectedCpuFeatures();

// The best tier this CPU runs: kAvx2 needs AVX2 + FMA + F16C, kAvx512 needs
// F + BW + VL, kAvx512Vnni adds VNNI, kAmx adds AMX-INT8 tiles. Capped by
// the MIXQ_MAX_ISA environment variable (generic | avx2 | avx512 |
// avx512_vnni | amx), which tests use to run the paths the machine would not
// pick.
Isa BestIsa();

// Whether a table looked up with vector gathers beats computing the values:
// on Intel's AVX2 / AVX-512 gathers, yes (ResNet-50 QDQ's int8 residual
// adds 3.99 -> 1.63 ms through a table of every pair of codes, Xeon, one
// thread); on AMD's, no (the same adds 1.88 ms computed against 2.73 ms
// looked up, Zen 4). Both give the same bits: the tables are filled by the
// kernels' own arithmetic. SetGatherTablesForTesting(1 / 0) forces either
// form for kernels made afterwards; -1 goes back to the CPU's vendor.
bool GatherTablesPay();
void SetGatherTablesForTesting(int forced);

// Whether oneDNN's float32 GEMM beats mixq's AVX2 one ("avx2-f32",
// ops/float_weight_gemm.h) on products large enough for both: on Intel CPUs
// at the AVX-512 tier, whose two 512-bit FMA ports give oneDNN's AVX-512
// kernels twice the AVX2 width (BERT-base layer float32 on an AMX Xeon:
// 20.3 -> 12.2 ms at 1 thread, 11.1 -> 6.8 at 2); not on AMD Zen 4, whose
// 512-bit FMAs issue at the AVX2 rate and where avx2-f32 was measured
// faster. SetOneDnnFloatGemmForTesting(1 / 0) forces either for kernels
// chosen afterwards; -1 goes back to the CPU.
bool OneDnnFloatGemmPays();
void SetOneDnnFloatGemmForTesting(int forced);

// Whether float16 post-op chains (ops/half_chain.h) run their multiplies,
// adds and clamps as AVX512-FP16 arithmetic on the float16 values: the same
// bits as the float32 form wherever the constants are float16 values
// (HalfChain::half_exact says why), and one uop for 16 values where the
// float32 form spends two F16C round trips of four uops. Needs AVX512-FP16
// and the AVX-512 tier (MIXQ_MAX_ISA=avx2 turns it off).
// SetFloat16ArithmeticForTesting(1 / 0) forces it on (where the CPU has it)
// or off for stages made afterwards; -1 goes back to the CPU.
bool Float16ArithmeticPays();
void SetFloat16ArithmeticForTesting(int forced);

const char* IsaName(Isa isa);
// Parses the names above; false when unknown.
bool ParseIsa(const std::string& name, Isa* isa);

// "avx2 fma f16c avx512f ..." for reports and benchmarks.
std::string CpuFeatureString();

}  // namespace mixq::kernels
