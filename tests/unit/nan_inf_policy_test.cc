// NaN and inf inputs in every precision mode (issue 14 #14 and the catalogue's
// "NaN / inf in every precision mode"): the declared policy, tested.
//
//   float32 / float16 steps   propagate NaN and inf (IEEE arithmetic), except
//                             the clamps (relu, relu6, clip), which map NaN to
//                             their lower bound (ops/clamp.h): in the small
//                             ResNet every NaN the convolutions spread meets a
//                             relu, so the scores come out finite, the same
//                             with the fast kernels (relu fused into oneDNN)
//                             as with the reference;
//   static QINT8 / QINT16     NaN becomes the code of 0.0 and +-inf saturates to
//                             the extreme code: the output equals the output
//                             for 0 (resp. +-FLT_MAX) in that place;
//   dynamic QINT8             NaN is left out of the run-time range and becomes
//                             0; an infinite value has no finite range, so
//                             Enqueue fails naming the tensor.
//
// The library does not scan inputs on every inference (that costs a pass over
// the data); `mixq run` warns when it feeds NaN / inf to a quantized model
// (tests/python/test_bad_inputs_cli.py). See docs/reliability.md.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "mixq/mixq.h"
#include "util/status_util.h"

namespace mixq {
namespace {

struct Mode {
  const char* name;
  const char* json;
  bool calibrate;
  bool quantized;
  bool dynamic;
};

// gtest prints the parameter by name (not as raw bytes) in test lists.
void PrintTo(const Mode& mode, std::ostream* os) {
  *os << mode.name;
}

class NanInfPolicy : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    const Mode& mode = GetParam();
    auto network = CreateINetwork();
    ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
    auto config = CreateIBuilderConfig();
    ASSERT_TRUE(config->ParseFromString(mode.json).ok());
    if (mode.calibrate) {
      examples::RandomImages images(Dims({1, 16, 16, 3}), 3, 5);
      auto calibrator = CreateICalibrator(&images);
      ASSERT_TRUE(calibrator->Calibrate(network.get(), config.get()).ok());
    }
    auto builder = CreateIBuilder();
    model_ = builder->BuildModel("nan", network.get(), config.get());
    ASSERT_NE(model_, nullptr) << builder->GetLastStatus().ToString();
    engine_ = model_->CreateIEngine();
    image_.resize(16 * 16 * 3);
    for (size_t i = 0; i < image_.size(); ++i) image_[i] = std::sin(0.37f * static_cast<float>(i));
  }

  // Output of one run with element `at` of the image replaced by `value`.
  Status Run(float value, std::vector<float>* out, size_t at = 100, bool force_reference = false) {
    std::vector<float> x = image_;
    x[at] = value;
    ContextOptions options;
    options.force_reference = force_reference;
    auto context = engine_->CreateIContext(options);
    std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
    MIXQ_RETURN_IF_ERROR(context->CreateInputTensors(&inputs));
    MIXQ_RETURN_IF_ERROR(context->CreateOutputTensors(&outputs));
    MIXQ_RETURN_IF_ERROR(inputs[0]->SetDimensions(Dims({1, 16, 16, 3})));
    MIXQ_RETURN_IF_ERROR(inputs[0]->SetData(x.data(), x.size() * sizeof(float)));
    MIXQ_RETURN_IF_ERROR(context->Enqueue(inputs, outputs));
    out->clear();
    const int64_t n = outputs[0]->GetDimensions().GetElementCount();
    for (int64_t i = 0; i < n; ++i) {
      if (outputs[0]->GetDataType() == DataType::FLOAT32) {
        out->push_back(static_cast<const float*>(outputs[0]->GetData())[i]);
      } else if (outputs[0]->GetDataType() == DataType::BFLOAT16) {  // the same with bfloat16's exponent field
        const uint16_t h = static_cast<const uint16_t*>(outputs[0]->GetData())[i];
        const bool special = (h & 0x7f80) == 0x7f80;
        out->push_back(special ? ((h & 0x007f) ? NAN : INFINITY) : static_cast<float>(h));
      } else {  // FLOAT16 storage: compare the bits, NaN-ness survives as a NaN pattern
        const uint16_t h = static_cast<const uint16_t*>(outputs[0]->GetData())[i];
        const bool special = (h & 0x7c00) == 0x7c00;
        out->push_back(special ? ((h & 0x03ff) ? NAN : INFINITY) : static_cast<float>(h));
      }
    }
    return Status::OK();
  }

  static bool AllNaN(const std::vector<float>& v) {
    for (float x : v)
      if (!std::isnan(x)) return false;
    return !v.empty();
  }
  static bool AllFinite(const std::vector<float>& v) {
    for (float x : v)
      if (!std::isfinite(x)) return false;
    return !v.empty();
  }
  // Fast and reference kernels: the same finite scores within float32
  // reassociation (float16 storage: within its rounding).
  static void ExpectClose(const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-3 * (1 + std::fabs(b[i]))) << i;
  }
  static bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  }

  std::unique_ptr<IModel> model_;
  std::unique_ptr<IEngine> engine_;
  std::vector<float> image_;
};

TEST_P(NanInfPolicy, NaNInput) {
  const Mode& mode = GetParam();
  std::vector<float> with_nan, with_zero;
  ASSERT_TRUE(Run(NAN, &with_nan).ok());
  ASSERT_TRUE(Run(0.0f, &with_zero).ok());
  ASSERT_EQ(with_nan.size(), 10u);
  if (mode.quantized) {
    EXPECT_TRUE(AllFinite(with_nan));
    EXPECT_TRUE(SameBits(with_nan, with_zero)) << "NaN must quantize like 0.0";
  } else {
    // The first convolution spreads the NaN, its relu maps it to 0: finite
    // scores, unlike a 0 input's, and the reference kernels agree.
    std::vector<float> reference;
    ASSERT_TRUE(Run(NAN, &reference, 100, /*force_reference=*/true).ok());
    EXPECT_TRUE(AllFinite(with_nan)) << "relu maps NaN to 0 in float precisions";
    EXPECT_FALSE(SameBits(with_nan, with_zero));
    ExpectClose(with_nan, reference);
  }
}

TEST_P(NanInfPolicy, InfiniteInput) {
  const Mode& mode = GetParam();
  std::vector<float> with_inf, with_max;
  const Status s = Run(std::numeric_limits<float>::infinity(), &with_inf);
  if (mode.dynamic) {
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
    EXPECT_NE(s.message().find("inf"), std::string::npos) << s.message();
    return;
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(Run(FLT_MAX, &with_max).ok());
  if (mode.quantized) {
    EXPECT_TRUE(AllFinite(with_inf));
    EXPECT_TRUE(SameBits(with_inf, with_max)) << "+inf must saturate like FLT_MAX";
  } else {
    // inf times weights of both signs gives +-inf and NaN after the first
    // convolution; relu maps NaN and -inf to 0 and keeps +inf, which the
    // next convolutions turn into NaN again, up to the scores.
    std::vector<float> reference;
    ASSERT_TRUE(Run(std::numeric_limits<float>::infinity(), &reference, 100, /*force_reference=*/true).ok());
    EXPECT_EQ(AllNaN(with_inf), AllNaN(reference));
    EXPECT_FALSE(AllFinite(with_inf));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryPrecisionMode, NanInfPolicy,
    ::testing::Values(
        Mode{"force_float32", R"({"precision_config": {"precision_mode": "force_float32"}})", false, false, false},
        Mode{"force_float16", R"({"precision_config": {"precision_mode": "force_float16"}})", false, false, false},
        Mode{"force_bfloat16", R"({"precision_config": {"precision_mode": "force_bfloat16"}})", false, false, false},
        Mode{"qint8_mixed_float32", R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})", true, true,
             false},
        Mode{"qint8_mixed_float16", R"({"precision_config": {"precision_mode": "qint8_mixed_float16"}})", true, true,
             false},
        Mode{"qint16_mixed_float32", R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})", true, true,
             false},
        Mode{"qint16_mixed_float16", R"({"precision_config": {"precision_mode": "qint16_mixed_float16"}})", true, true,
             false},
        Mode{"qint8_dynamic",
             R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "activation_quant_mode": "dynamic"}})",
             false, true, true}),
    [](const ::testing::TestParamInfo<Mode>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mixq
