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
  std::string storage;  // how the tensor is held at run time (plan reports only)
};

struct NodePrecision {
  std::string node;
  std::string op;
  std::vector<TensorPrecision> inputs;
  std::vector<TensorPrecision> outputs;
  std::string kernel;
  std::string reason;              // why actual != requested; empty when they agree
  std::vector<std::string> fused;  // nodes folded into this one (BatchNorm at build, post-ops in the plan)
  std::string fused_into;          // plan reports: the node whose step runs this one
};

struct PrecisionReport {
  std::string precision_mode;
  std::string int8_weight_range = "full";  // BuildOptions::int8_weight_range; "7bit" is named in the report
  // "build": decided before shapes are known (kernels are chosen per shape);
  // "plan": read from an execution plan, naming the kernels that run.
  std::string stage = "build";
  std::string shapes;  // plan reports: the input shapes it was lowered for
  std::vector<NodePrecision> nodes;
  // One line per post-training transform that ran (ptq_transforms.h), e.g.
  // "bias_correction: 52 Conv2D / FullyConnected bias(es) corrected".
  std::vector<std::string> transforms;
};

std::string PrecisionReportToJson(const PrecisionReport& report);
// A fixed-width table, one row per node; "" plus an error in *status on bad JSON.
std::string FormatPrecisionReport(const std::string& json, Status* status = nullptr);

}  // namespace mixq::passes
