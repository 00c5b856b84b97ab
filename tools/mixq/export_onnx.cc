// mixq export-onnx: a built model back to ONNX, with QuantizeLinear /
// DequantizeLinear carrying mixq's exact scales (docs/precision.md).
#include <cstdio>

#include "cli.h"
#include "mixq/onnx_export.h"
#include "tensors.h"

namespace mixq::cli {

int ExportOnnxMain(const std::vector<std::string>& args) {
  Args parser("export-onnx", "MODEL.mixq -o MODEL.onnx",
              "Writes the built model as ONNX (opset 21): quantized inputs as QuantizeLinear ->\n"
              "DequantizeLinear with mixq's scales and zero points, int8 / int16 weights as\n"
              "initializers -> DequantizeLinear, float16 storage as Cast pairs, NHWC layouts as\n"
              "Transposes. ONNX Runtime and other engines can then run mixq's quantization.\n"
              "Models built with dynamic activation quantization have no such form.");
  parser.AddPositional("MODEL.mixq", "a model file written by mixq build");
  parser.AddFlag("output", "o", "MODEL.onnx", "where to write the ONNX model (required)");
  if (int code = ParseOrExit(&parser, "export-onnx", args); code >= 0) return code;
  if (!parser.Has("output"))
    return Fail("export-onnx", Status(StatusCode::INVALID_ARGUMENT, "-o MODEL.onnx is required"), kExitUsage);

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(0), &model); !s.ok()) return Fail("export-onnx", s);
  const std::string out = parser.Get("output");
  if (Status s = ExportToOnnx(*model, out); !s.ok()) return Fail("export-onnx", s);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace mixq::cli
