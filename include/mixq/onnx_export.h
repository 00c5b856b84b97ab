// Writing a built model back to ONNX, with QuantizeLinear / DequantizeLinear
// (QDQ) nodes carrying mixq's exact scales and zero points, so that ONNX
// Runtime and other engines can run mixq's quantization.
#pragma once

#include <string>

#include "mixq/runtime.h"
#include "mixq/types.h"

namespace mixq {

// Opset 21 (int16 QDQ needs it). Every quantized input becomes
// QuantizeLinear -> DequantizeLinear (activations) or an int8 / int16
// initializer -> DequantizeLinear (weights; INT32 biases likewise); float16
// storage becomes Cast pairs; NHWC layouts become Transposes around the
// NCHW-only ONNX operators. Models with dynamic activation quantization have
// no QDQ form (UNIMPLEMENTED).
Status ExportToOnnx(const IModel& model, const std::string& path);
Status ExportToOnnxBytes(const IModel& model, std::string* bytes);

}  // namespace mixq
