// Integer chains (SPEC §1.5): operators without an accumulator that run on
// int8 storage between quantized operators, so no float tensor exists between
// them (passes/integer_chain.h decides where). This file holds what they
// share: which steps the chain kernels take, and the lookup-table kernels of
// single-input pointwise operators (an activation such as sigmoid or
// hard_swish, arithmetic with a scalar constant). For those the definition is
//
//   int8 output:    y_q = Quantize(f(Dequantize(x_q, s_in, z_in)), s_out, z_out)
//   float32 output: y   = f(Dequantize(x_q, s_in, z_in))
//
// with f the operator's float reference function, Dequantize / Quantize of
// quant/quant_math.h (the float32 product s * (q - z); x / s in float32, round
// half to even, clamp). It is what Dequantize -> op -> Quantize steps compute
// in float32, without the float tensors. The reference evaluates it element by
// element; the fast kernel evaluates it once per code (256 of them) when it is
// prepared and looks codes up, so both agree bit for bit by construction.
//
// Rescaling steps (`int8_rescale_chains`) take several int8 inputs, or sum
// windows of one, and write int8 with the output's own parameters:
//
//   Elementwise add of two tensors:
//     y = Dequantize(a_q, s_a, z_a) + Dequantize(b_q, s_b, z_b)   (float32)
//     y_q = Quantize(y, s_out, z_out)
//   AvgPool2D / GlobalAvgPool, a mean over `count` positions (the float
//   kernel's divisor): the centered codes summed exactly in int32,
//     acc = sum (x_q - z_in)
//     y_q = clamp(rint(f32(acc) * multiplier + z_out))   multiplier = f32(s_in / count / s_out)
//     float32 output: y = f32(acc) * scale                scale = f32(s_in / count)
//   i.e. the one requantization formula of quant/requantize.h with the
//   weight scale 1 / count (MeanMultiplier, MeanScale below).
#pragma once

#include <array>
#include <functional>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// A step the chain kernels take: every input consumed in QINT8 is INT8
// storage with static per-tensor parameters, every other present input is a
// constant, the output is INT8 with static per-tensor parameters or plain
// FLOAT32, and nothing is fused into it.
bool IntegerChainStep(const KernelInit& init);

using RealFunction = std::function<float(float)>;

// A single-input pointwise operator as a function of its data input (the
// other inputs are constants folded into f).
struct LutOp {
  RealFunction f;
  size_t data_input = 0;
};

// The outputs for every int8 code, indexed by code + 128.
std::array<int8_t, 256> Int8LutTable(const RealFunction& f, float in_scale, int32_t in_zero_point, float out_scale,
                                     int32_t out_zero_point);
std::array<float, 256> FloatLutTable(const RealFunction& f, float in_scale, int32_t in_zero_point);

// IntegerChainStep, the data input consumed in QINT8 and the output of its shape.
bool LutStepSupported(const KernelInit& init, size_t data_input);

// The reference ("reference-quantized"): the definition, element by element.
Status MakeInt8LutReference(LutOp op, const KernelInit& init, std::unique_ptr<Kernel>* kernel);

// "avx2-int8-lut": the table built once, codes looked up 32 at a time
// (LookupInt8Avx2); a float32 output reads a table of floats. With `vbmi`
// (int8 output only): "avx512vbmi-int8-lut", 64 at a time (LookupInt8Vbmi).
Status MakeInt8LutAvx2(LutOp op, const KernelInit& init, std::unique_ptr<Kernel>* kernel, bool vbmi = false);

// y[i] = table[x[i] + 128] for n codes: 16 vpshufb over the table's 16-entry
// slices, selected by the code's high nibble with a vpblendvb tree. Needs AVX2.
void LookupInt8Avx2(const std::array<int8_t, 256>& table, const int8_t* x, int8_t* y, int64_t n);

// The same 64 codes at a time with AVX-512 VBMI: two vpermi2b, each over one
// half of the table (128 entries in two zmm), the code's sign picking the
// half. About ten times LookupInt8Avx2's rate, whose 16 shuffles and 15
// blends per 32 codes cost a cycle per code. Needs AVX-512 BW and VBMI.
void LookupInt8Vbmi(const std::array<int8_t, 256>& table, const int8_t* x, int8_t* y, int64_t n);

// Whether LookupInt8Vbmi may run: the CPU has VBMI and BestIsa() (which
// MIXQ_MAX_ISA caps) reaches AVX-512.
bool Int8LookupVbmiAvailable();

// What the "avx512vbmi-int8-lut" kernels add to their avx2-int8-lut form's
// cases: LookupInt8Vbmi available and an int8 output.
bool VbmiLutOutput(const KernelInit& init);

// IntegerChainStep with every present input consumed in QINT8 (no
// constants), static shapes: what the rescaling steps take.
bool RescaleStepSupported(const KernelInit& init);

// The output stage of a mean of `count` centered codes (count 0: the window
// covers nothing; the multiplier and scale are 0 and the result is z_out / 0.0).
float MeanMultiplier(float in_scale, int64_t count, float out_scale);
float MeanScale(float in_scale, int64_t count);

// Static per-tensor parameters of an INT8 input or output (s, z).
struct Int8Params {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
Int8Params ParamsOf(const ValueInfo& v);

}  // namespace mixq::ops
