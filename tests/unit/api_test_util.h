// Shared helpers for tests that go through the public API.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "mixq/mixq.h"
#include "util/half.h"

namespace mixq::testing {

inline std::unique_ptr<IModel> BuildOrDie(INetwork* network, const std::string& config_json = "") {
  auto config = CreateIBuilderConfig();
  if (!config_json.empty()) {
    Status s = config->ParseFromString(config_json);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("test", network, config.get());
  EXPECT_NE(model, nullptr) << builder->GetLastStatus().ToString();
  return model;
}

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Runs a single-input, single-output model once; returns the output (empty on error).
inline std::vector<float> RunOnce(IContext* context, const Dims& dims, std::vector<float>& input,
                                  Dims* out_dims = nullptr) {
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(dims).ok());
  EXPECT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  Status s = context->Enqueue(inputs, outputs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  if (out_dims) *out_dims = outputs[0]->GetDimensions();
  const int64_t n = outputs[0]->GetDimensions().GetElementCount();
  if (outputs[0]->GetDataType() == DataType::FLOAT16) {  // force_float16's outputs
    const auto* h = static_cast<const uint16_t*>(outputs[0]->GetData());
    std::vector<float> y(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = HalfToFloat(h[i]);
    return y;
  }
  const float* y = static_cast<const float*>(outputs[0]->GetData());
  return std::vector<float>(y, y + n);
}

}  // namespace mixq::testing
