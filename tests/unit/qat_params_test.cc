// ITensor::SetQuantizationParameters (exact QAT scales): validation at the
// call, and the checks against how the tensor is consumed at build.
#include <gtest/gtest.h>

#include "api_test_util.h"

namespace mixq::testing {
namespace {

void ExpectError(const Status& s, StatusCode code, const std::string& needle) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << "'" << needle << "' not in: " << s.message();
}

struct ConvNet {
  std::unique_ptr<INetwork> network = CreateINetwork();
  ITensor* x = nullptr;
  ITensor* w = nullptr;
  ConvNet() {
    x = network->AddIInput(DataType::FLOAT32, Dims({1, 4, 4, 2}));
    auto values = RandomFloats(3 * 1 * 1 * 2, 1);
    w = network->AddIConstNode(DataType::FLOAT32, Dims({3, 1, 1, 2}), values.data())->GetOutput(0);
    network->MarkOutput(network->AddIConvNode(x, w, nullptr)->GetOutput(0));
  }
  Status Build(const char* mode) {
    auto config = CreateIBuilderConfig();
    EXPECT_TRUE(
        config->ParseFromString(std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}").ok());
    auto builder = CreateIBuilder();
    auto model = builder->BuildModel("qat", network.get(), config.get());
    return builder->GetLastStatus();
  }
};

TEST(QatParameters, InvalidParametersAreRefusedAtTheCall) {
  ConvNet net;
  ExpectError(net.x->SetQuantizationParameters({12, {0.1f}, {0}, -1}), StatusCode::INVALID_ARGUMENT, "8 or 16");
  ExpectError(net.x->SetQuantizationParameters({8, {0.1f}, {200}, -1}), StatusCode::INVALID_ARGUMENT, "zero point");
  ExpectError(net.x->SetQuantizationParameters({8, {-0.1f}, {0}, -1}), StatusCode::INVALID_ARGUMENT, "scale");
  ExpectError(net.x->SetQuantizationParameters({8, {0.1f, 0.2f}, {0}, 0}), StatusCode::INVALID_ARGUMENT, "zero points");
  ExpectError(net.w->SetQuantizationParameters({8, {0.1f, 0.2f}, {0, 0}, 0}), StatusCode::INVALID_ARGUMENT,
              "3 slices along axis 0 but 2 scales");
  ExpectError(net.w->SetQuantizationParameters({8, {0.1f}, {0}, 7}), StatusCode::INVALID_ARGUMENT, "axis 7");
  EXPECT_FALSE(net.x->GetQuantizationParameters(nullptr));
  ASSERT_TRUE(net.x->SetQuantizationParameters({8, {0.5f}, {-3}, -1}).ok());
  QuantizationParameters p;
  ASSERT_TRUE(net.x->GetQuantizationParameters(&p));
  EXPECT_EQ(p.scales, std::vector<float>{0.5f});
  EXPECT_EQ(p.zero_points, std::vector<int32_t>{-3});
  EXPECT_EQ(p.axis, -1);
}

TEST(QatParameters, MismatchWithTheConsumerIsABuildError) {
  {
    ConvNet net;  // 8-bit parameters, consumed in QINT16
    ASSERT_TRUE(net.x->SetQuantizationParameters({8, {0.5f}, {0}, -1}).ok());
    ExpectError(net.Build("qint16_mixed_float32"), StatusCode::INVALID_ARGUMENT,
                "carries 8-bit quantization parameters (QAT) but is consumed in QINT16");
  }
  {
    ConvNet net;  // weights quantized along the wrong axis (OHWI: O is axis 0)
    ASSERT_TRUE(net.w->SetQuantizationParameters({8, {0.1f, 0.1f}, {0, 0}, 3}).ok());
    net.x->SetDynamicRange(Range{-1, 1});
    ExpectError(net.Build("qint8_mixed_float32"), StatusCode::INVALID_ARGUMENT, "quantized along axis 3");
  }
  {
    ConvNet net;  // exact parameters make a range unnecessary
    ASSERT_TRUE(net.x->SetQuantizationParameters({8, {0.01f}, {5}, -1}).ok());
    EXPECT_TRUE(net.Build("qint8_mixed_float32").ok());
  }
}

}  // namespace
}  // namespace mixq::testing
