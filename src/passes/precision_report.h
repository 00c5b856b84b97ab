// The precision report: per node, the precision every input is consumed in and
// every output is produced in (requested and actual), the kernel and why the
// actual differs from the request.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace mixq::passes {

struct TensorPrecision {
  std::string tensor;
  DataType requested = DataType::FLOAT32;
  std::string requested_by;  // "network" (precision_mode) or "node" (SetPrecision / SetOutputType)
  DataType actual = DataType::FLOAT32;
};

struct NodePrecision {
  std::string node;
  std::string op;
  std::vector<TensorPrecision> inputs;
  std::vector<TensorPrecision> outputs;
  std::string kernel;
  std::string reason;  // why actual != requested; empty when they agree
  std::vector<std::string> fused;  // nodes folded into this one at build (BatchNorm)
};

struct PrecisionReport {
  std::string precision_mode;
  std::vector<NodePrecision> nodes;
};

std::string PrecisionReportToJson(const PrecisionReport& report);
// A fixed-width table, one row per node; "" plus an error in *status on bad JSON.
std::string FormatPrecisionReport(const std::string& json, Status* status = nullptr);

}  // namespace mixq::passes
