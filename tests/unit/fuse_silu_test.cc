// The SiLU rule (passes/fuse_silu.cc): x * sigmoid(x), and PaddlePaddle's
// x * sigmoid(x * 1.0), become one Activation silu in every precision mode;
// the result matches x / (1 + exp(-x)) in double within 1e-6 (the fused
// reference computes in double; the spelled-out network rounds the sigmoid
// first: both within 1e-6 * (1 + |y|)); near misses and pinned nodes stay.
#include "fusion_test_util.h"

namespace mixq::testing {
namespace {

enum class Variant {
  kPlain,          // sigmoid(x) * x
  kPaddle,         // x * sigmoid(x * 1.0)
  kSigmoidOutput,  // the sigmoid is also a network output
  kOtherFactor,    // sigmoid(x) * (x + 1): not x
  kScaleNotOne,    // x * sigmoid(x * 1.5)
  kPinnedMul,      // SetPrecision on the product
  kRangeOnSigmoid  // a range set on the sigmoid's output
};

constexpr int64_t kRows = 3, kCols = 37;

std::unique_ptr<INetwork> Make(Variant v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({kRows, kCols}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  ITensor* s = x;
  if (v == Variant::kPaddle) s = Binary(n, x, Scalar(n, 1.0f), ElementwiseOp::MUL, "times_one");
  if (v == Variant::kScaleNotOne) s = Binary(n, x, Scalar(n, 1.5f), ElementwiseOp::MUL, "times_beta");
  ITensor* sig = Named(n->AddIActivationNode(s, ActivationType::SIGMOID), "sigmoid");
  ITensor* other = v == Variant::kOtherFactor ? Binary(n, x, Scalar(n, 1.0f), ElementwiseOp::ADD, "plus_one") : x;
  IElementwiseNode* mul = v == Variant::kPlain ? n->AddIElementwiseNode(sig, other, ElementwiseOp::MUL)
                                               : n->AddIElementwiseNode(other, sig, ElementwiseOp::MUL);
  ITensor* y = Named(mul, "swish");
  if (v == Variant::kPinnedMul) {
    EXPECT_TRUE(mul->SetPrecision(0, DataType::FLOAT32).ok());
  }
  if (v == Variant::kRangeOnSigmoid) {
    EXPECT_TRUE(sig->SetDynamicRange(Range{0.0f, 1.0f}).ok());
  }
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v == Variant::kSigmoidOutput) {
    EXPECT_TRUE(n->MarkOutput(sig).ok());
  }
  return network;
}

std::vector<double> Expected(const std::vector<float>& x, Variant v) {
  std::vector<double> y;
  for (float xf : x) {
    const double xv = xf, beta = v == Variant::kScaleNotOne ? 1.5 : 1.0;
    const double factor = v == Variant::kOtherFactor ? xv + 1.0 : xv;
    y.push_back(factor / (1.0 + std::exp(-beta * xv)));
  }
  return y;
}

std::vector<float> Input() {
  auto x = RandomFloats(kRows * kCols, 5, -12.0f, 12.0f);
  x[0] = 0.0f;
  x[1] = -90.0f;  // sigmoid underflows toward 0
  x[2] = 90.0f;
  return x;
}

TEST(FuseSilu, SpelledOutSiluBecomesOneActivation) {
  const auto x = Input();
  for (Variant v : {Variant::kPlain, Variant::kPaddle}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    const auto row = ReportRow(model.get(), "swish_silu");
    ASSERT_FALSE(row.is_null());
    EXPECT_EQ(row["fused"].size(), v == Variant::kPaddle ? 3u : 2u);
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

TEST(FuseSilu, FusesInEveryPrecisionMode) {
  for (const char* mode : {"force_float16", "qint8_mixed_float32", "qint16_mixed_float16"}) {
    SCOPED_TRACE(mode);
    auto network = Make(Variant::kPaddle);
    auto model = BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}");
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    // float16 storage rounds to 11 bits: 1e-2 covers it; float32 modes are exact up to float rounding.
    const bool f16 = std::string(mode).find("float16") != std::string::npos;
    ExpectClose(RunFirst(model.get(), Input()), Expected(Input(), Variant::kPaddle), f16 ? 1e-2 : 1e-5);
  }
}

TEST(FuseSilu, NearMissesAndPinnedNodesStay) {
  const auto x = Input();
  for (Variant v : {Variant::kSigmoidOutput, Variant::kOtherFactor, Variant::kScaleNotOne, Variant::kPinnedMul,
                    Variant::kRangeOnSigmoid}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_TRUE(ReportRow(model.get(), "swish_silu").is_null());
    EXPECT_FALSE(ReportRow(model.get(), "sigmoid").is_null());
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
  // A node named in the precision config blocks it as SetPrecision does.
  auto network = Make(Variant::kPlain);
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"node_precision": {"sigmoid": "float32"}}})");
  EXPECT_TRUE(ReportRow(model.get(), "swish_silu").is_null());
  EXPECT_EQ(ReportOps(model.get()), (std::vector<std::string>{"Activation", "Elementwise"}));
  // So does a range in the config for the sigmoid's output, which would vanish.
  auto ranged = Make(Variant::kPlain);
  auto ranged_model = BuildOrDie(ranged.get(), R"({"precision_config": {"custom_ranges": {"sigmoid_out": [0, 1]}}})");
  EXPECT_TRUE(ReportRow(ranged_model.get(), "swish_silu").is_null());
  ExpectClose(RunFirst(ranged_model.get(), x), Expected(x, Variant::kPlain), 1e-6);
}

}  // namespace
}  // namespace mixq::testing
