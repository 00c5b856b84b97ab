// One ONNX backend node test (model.onnx + test_data_set_*/{input,output}_*.pb)
// imported with the ONNX parser, built in force_float32 and run through the
// public API; outputs compared with a tolerance.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace mixq::conformance {

// |got - want| <= atol + rtol * |want| (ONNX's backend runner uses rtol 1e-3,
// atol 1e-7; mixq is held to a tighter relative and a looser absolute bound).
struct Tolerance {
  double rtol = 1e-4;
  double atol = 1e-5;
};

enum class Verdict {
  kPass,
  kFail,
  kNotMapped,     // uses an op the importer has no rule for
  kOpsetOutside,  // the model's opset is outside what the importer accepts
};

struct NodeTestResult {
  Verdict verdict = Verdict::kFail;
  std::string detail;              // why it failed / which ops are not mapped
  std::set<std::string> mixq_ops;  // operator kinds of the imported network
  std::set<std::string> onnx_ops;  // op types of the ONNX graph
  bool frozen_inputs = false;      // attribute-like graph inputs frozen to constants
};

NodeTestResult RunNodeTest(const std::filesystem::path& dir, const Tolerance& tolerance);

}  // namespace mixq::conformance
