// Options of a build, as validated from the builder config JSON.
#pragma once

#include <map>
#include <string>

#include "mixq/types.h"

namespace mixq::passes {

// Every option with its default; values are the JSON strings.
struct BuildOptions {
  std::string precision_mode = "force_float32";
  std::string weight_quant_granularity = "per_axis";
  std::string activation_quant_algo = "symmetric";
  std::string activation_quant_mode = "static";
  // "int32": biases of quantized convolutions / Gemm join the integer
  // accumulator (scale s_x * s_w); "float": added after scaling.
  std::string bias_precision = "float";
  // "7bit": int8 weights take the codes [-63, 63] (scale max|w| / 63) so that
  // AVX2 CPUs without VNNI multiply them with vpmaddubsw, exactly (DESIGN
  // rule 9, kernels/u8s8_gemm.h); "full": [-127, 127].
  std::string int8_weight_range = "full";
  // "on": sigmoid / hard_swish / ... and arithmetic with a scalar between
  // quantized operators run int8 -> int8 by 256-entry tables (passes/
  // integer_chain.h): faster, but each step adds a quantization of its
  // output (PP-OCRv4 rec exact match 97.5 -> 64 %, docs/precision.md).
  std::string int8_table_chains = "off";
  // "on": the build times the quantized plan against the float plan on this
  // CPU (api/speed_check.h) and keeps in float the quantized operators whose
  // kernels measured slower, unless the user pinned them; the report names
  // each one with the two times. "off": the plan follows the mode only.
  std::string speed_check = "off";
  // Filled by the speed check, not read from JSON: node name -> why it stays
  // in the mode's float type although the network mode quantizes it.
  std::map<std::string, std::string> keep_float;
  // "on" (default): adds of two tensors, AvgPool2D and GlobalAvgPool between
  // quantized operators read int8 inputs with their own parameters and write
  // int8 (rescaling steps, passes/integer_chain.h): no float tensor around
  // them. Their inputs are quantized where the float path kept them float;
  // measured without an accuracy cost on MobileNetV2, PP-OCRv4 det and rec
  // (docs/precision.md). "off": the float path.
  std::string int8_rescale_chains = "on";
  // "flush" (default): float32 weights below 2^-126 in magnitude become zero
  // before planning (passes/denormal_weights.h: each of their products
  // costs Intel CPUs a microcode assist, and none moves a sum of normal
  // size); "keep": the weights as given.
  std::string denormal_weights = "flush";
  std::map<std::string, Range> custom_ranges;  // tensor name -> range
  // node name -> "qint8" | "qint16" | "float16" | "float32" (passes/node_precision.h).
  std::map<std::string, std::string> node_precision;
  // The build warns when a range clips more than this percentage of a
  // tensor's calibration values (0..100; 100 never warns), or removes more
  // than clip_warning_energy_percent of their energy (sum x^2) by clipping.
  double clip_warning_percent = 1.0;
  double clip_warning_energy_percent = 5.0;
  // Post-training quantization transforms (passes/ptq_transforms.h), all off
  // by default. bias_correction: subtract from each quantized Conv2D /
  // FullyConnected bias the output shift its weight rounding causes on the
  // calibration inputs' per-channel means. cross_layer_equalization: rescale
  // the channels between consecutive Conv2Ds (Nagel et al. 2019);
  // cle_relu6 "replace_with_relu" also equalizes across ReLU6 / clip(0, c) by
  // turning them into ReLU (which changes the float network), "skip" leaves
  // those pairs alone. smooth_quant_alpha: SmoothQuant migration strength in
  // [0, 1]; negative: off.
  bool bias_correction = false;
  bool cross_layer_equalization = false;
  std::string cle_relu6 = "skip";
  double smooth_quant_alpha = -1.0;
  // Calibration with the `auto` range algorithm keeps this many of its first
  // samples and refines the per-tensor choice by the network-output error on
  // them (calibration/auto_search.h); 0: the histogram proxy alone. 0..64.
  int auto_output_samples = 8;
};

// Whether activations quantized to `bits` get zero point 0.
// activation_quant_algo "asymmetric" applies to 8-bit activations: 16-bit
// ones stay symmetric, because the exact AVX2 int16 kernels need a zero
// point of 0 (a centered 16-bit code takes 17 bits) and at 16 bits a zero
// point buys less than one bit of resolution. The precision report says so
// per tensor (docs/precision.md).
inline bool SymmetricActivations(const BuildOptions& options, int bits) {
  return options.activation_quant_algo == "symmetric" || bits == 16;
}

}  // namespace mixq::passes
