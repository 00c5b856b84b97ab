// Shared by the fusion-rule tests (fuse_*_test.cc): small builders for
// spelled-out patterns and what a built model says about them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "api_test_util.h"
#include "ops/kernel_registry.h"
#include "runtime/engine.h"
#include "util/half.h"

namespace mixq::testing {

inline ITensor* Scalar(INetwork* n, float value, const Dims& dims = Dims({1})) {
  static int count = 0;
  ITensor* t = n->AddIConstNode(DataType::FLOAT32, dims, &value)->GetOutput(0);
  EXPECT_TRUE(t->SetTensorName(std::string("scalar_") + std::to_string(count++)).ok());
  return t;
}

// The runtime object behind a context (its plan, its graph).
inline runtime::ContextImpl* ImplOf(IContext* context) {
  return dynamic_cast<runtime::ContextImpl*>(context);
}

// A FLOAT32 constant of `dims` with values uniform in [-scale, scale] from `seed`.
inline ITensor* RandomConst(INetwork* network, std::vector<int64_t> dims, uint32_t seed, float scale) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const auto values = RandomFloats(static_cast<size_t>(count), seed, -scale, scale);
  return network->AddIConstNode(DataType::FLOAT32, Dims(dims), values.data())->GetOutput(0);
}

inline ITensor* Constant(INetwork* n, const Dims& dims, const std::vector<float>& values) {
  static int count = 0;
  ITensor* t = n->AddIConstNode(DataType::FLOAT32, dims, values.data())->GetOutput(0);
  EXPECT_TRUE(t->SetTensorName(std::string("constant_") + std::to_string(count++)).ok());
  return t;
}

// Names the node `name` and its output `name`_out.
inline ITensor* Named(INode* node, const std::string& name) {
  EXPECT_TRUE(node->SetNodeName(name).ok());
  EXPECT_TRUE(node->GetOutput(0)->SetTensorName(name + "_out").ok());
  return node->GetOutput(0);
}

// A 3 x 3 convolution, padding 1, NCHW activations and OIHW filter, with
// random weights and bias from `seed`.
inline IConvNode* PaddedConv3x3(INetwork* n, ITensor* x, int64_t cin, int64_t cout, uint32_t seed) {
  IConvNode* conv =
      n->AddIConvNode(x, RandomConst(n, {cout, cin, 3, 3}, seed, 0.3f), RandomConst(n, {cout}, seed + 1, 0.2f));
  EXPECT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  EXPECT_TRUE(conv->SetAttr("input_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("output_layout", std::string("NCHW")).ok());
  EXPECT_TRUE(conv->SetAttr("filter_layout", std::string("OIHW")).ok());
  return conv;
}

inline ITensor* Binary(INetwork* n, ITensor* a, ITensor* b, ElementwiseOp op, const std::string& name) {
  return Named(n->AddIElementwiseNode(a, b, op), name);
}

// The op of every node in the build report, in order.
inline std::vector<std::string> ReportOps(IModel* model) {
  std::vector<std::string> ops;
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  for (const auto& row : report["nodes"]) ops.push_back(row["op"].get<std::string>());
  return ops;
}

// The report row of the node named `name`; null json when there is none.
inline nlohmann::json ReportRow(IModel* model, const std::string& name) {
  const auto report = nlohmann::json::parse(model->GetPrecisionReportJson());
  for (const auto& row : report["nodes"])
    if (row["node"] == name) return row;
  return nullptr;
}

// Runs a one-input model; the first output (float16 outputs widened).
inline std::vector<float> RunFirst(IModel* model, std::vector<float> x) {
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  EXPECT_TRUE(context->CreateInputTensors(&in).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&out).ok());
  EXPECT_TRUE(in[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  Status s = context->Enqueue(in, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  const int64_t count = out[0]->GetDimensions().GetElementCount();
  if (out[0]->GetDataType() == DataType::FLOAT16) {  // the float16 precision modes
    const auto* h = static_cast<const uint16_t*>(out[0]->GetData());
    std::vector<float> y;
    for (int64_t i = 0; i < count; ++i) y.push_back(HalfToFloat(h[i]));
    return y;
  }
  const auto* y = static_cast<const float*>(out[0]->GetData());
  return std::vector<float>(y, y + count);
}

// One Enqueue of a prepared one-input context: its first output as floats
// (float16 outputs widened; empty on failure, which is reported).
inline std::vector<float> EnqueueFirst(IContext* context, std::vector<float> x) {
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  EXPECT_TRUE(context->CreateInputTensors(&in).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&out).ok());
  EXPECT_TRUE(in[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  const Status s = context->Enqueue(in, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  const int64_t count = out[0]->GetDimensions().GetElementCount();
  std::vector<float> y;
  const DataType type = out[0]->GetDataType();
  const auto* narrow = static_cast<const uint16_t*>(out[0]->GetData());
  for (int64_t i = 0; i < count; ++i)
    y.push_back(type == DataType::FLOAT16    ? HalfToFloat(narrow[i])
                : type == DataType::BFLOAT16 ? BFloat16ToFloat(narrow[i])
                                             : static_cast<const float*>(out[0]->GetData())[i]);
  return y;
}

// One plan of `model` for input `dims` (force_reference when `reference`,
// kernels up to `max_isa` when set):
// the kernel that runs the node named `anchor`, the op types its step
// swallowed, the step count, and the first output for input `x`.
struct Ran {
  std::vector<float> y;
  std::vector<std::string> fused;  // what the step of `anchor` swallowed
  std::string kernel;
  size_t steps = 0;
};

inline Ran RunPlan(IModel* model, const std::string& anchor, bool reference, const std::vector<float>& x,
                   const Dims& dims, const std::string& max_isa = "") {
  ContextOptions options;
  options.force_reference = reference;
  options.max_isa = max_isa;
  auto context = model->CreateIEngine()->CreateIContext(options);
  EXPECT_TRUE(context->Prepare({dims}).ok());
  Ran r;
  const runtime::ExecutionPlan& plan = ImplOf(context.get())->plan();
  const ir::Graph& graph = ImplOf(context.get())->graph();
  r.steps = plan.steps.size();
  for (const auto& step : plan.steps) {
    if (step.node < 0 || graph.node(step.node)->name != anchor) continue;
    r.kernel = step.def ? step.def->name : "?";
    for (int f : step.fused) r.fused.push_back(std::string(ops::GetSchema(graph.node(f)->op).name));
  }
  r.y = EnqueueFirst(context.get(), x);
  return r;
}

// |got - want| <= tolerance * (1 + |want|) everywhere.
inline void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance * (1 + std::fabs(want[i]))) << i;
}

// The same for two float results (one plan against another), which must not be empty.
inline void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance * (1 + std::fabs(want[i]))) << i;
}

template <typename T>
bool Contains(const std::vector<T>& values, const std::type_identity_t<T>& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// True where this build registers oneDNN's float32 convolution.
inline bool HaveOneDnn() {
  return ops::FindKernel(OpKind::kConv2D, "onednn") != nullptr;
}

}  // namespace mixq::testing
