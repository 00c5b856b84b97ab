// The GELU (erf) rule (passes/fuse_gelu_erf.cc): 0.5 * x * (1 + erf(x /
// sqrt(2))) in the operand orders exporters write becomes one Activation
// gelu_erf, matching the formula in double within 1e-6 * (1 + |y|) (fused:
// computed in double; spelled out, 1 + erf cancels in float for x << 0, an
// absolute error near 1e-7); near misses and pinned nodes stay.
#include "fusion_test_util.h"

namespace mixq::testing {
namespace {

enum class Variant {
  kPyTorch,        // ((x * (erf(x / 1.4142135) + 1)) * 0.5
  kHalfFirst,      // (x * 0.5) * (1 + erf(x * 0.70710678))
  kHalfOnSum,      // x * ((erf(0.70710678 * x) + 1) / 2)
  kErfOutput,      // the erf is also a network output
  kWrongConstant,  // x / 1.5
  kBroadcast,      // a 0.5 of shape [1, 1, 1] makes the result rank 3
  kPinnedErf       // SetOutputType on the erf
};

constexpr int64_t kRows = 3, kCols = 37;

std::unique_ptr<INetwork> Make(Variant v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({kRows, kCols}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  ITensor* scaled = nullptr;
  if (v == Variant::kHalfFirst)
    scaled = Binary(n, x, Scalar(n, 0.70710678f), ElementwiseOp::MUL, "scale");
  else if (v == Variant::kHalfOnSum)
    scaled = Binary(n, Scalar(n, 0.70710678f), x, ElementwiseOp::MUL, "scale");
  else
    scaled = Binary(n, x, Scalar(n, v == Variant::kWrongConstant ? 1.5f : 1.4142135f), ElementwiseOp::DIV, "scale");
  IUnaryNode* erf_node = n->AddIUnaryNode(scaled, UnaryOp::ERF);
  ITensor* erf = Named(erf_node, "erf");
  if (v == Variant::kPinnedErf) {
    EXPECT_TRUE(erf_node->SetOutputType(0, DataType::FLOAT32).ok());
  }
  ITensor* y = nullptr;
  if (v == Variant::kHalfFirst) {
    ITensor* sum = Binary(n, Scalar(n, 1.0f), erf, ElementwiseOp::ADD, "plus_one");
    ITensor* half = Binary(n, x, Scalar(n, 0.5f), ElementwiseOp::MUL, "half_x");
    y = Binary(n, half, sum, ElementwiseOp::MUL, "gelu");
  } else if (v == Variant::kHalfOnSum) {
    ITensor* sum = Binary(n, erf, Scalar(n, 1.0f), ElementwiseOp::ADD, "plus_one");
    ITensor* halved = Binary(n, sum, Scalar(n, 2.0f), ElementwiseOp::DIV, "halve");
    y = Binary(n, x, halved, ElementwiseOp::MUL, "gelu");
  } else {
    ITensor* sum = Binary(n, erf, Scalar(n, 1.0f), ElementwiseOp::ADD, "plus_one");
    ITensor* prod = Binary(n, x, sum, ElementwiseOp::MUL, "times_x");
    ITensor* half = v == Variant::kBroadcast ? Scalar(n, 0.5f, Dims({1, 1, 1})) : Scalar(n, 0.5f);
    y = Binary(n, prod, half, ElementwiseOp::MUL, "gelu");
  }
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v == Variant::kErfOutput) {
    EXPECT_TRUE(n->MarkOutput(erf).ok());
  }
  return network;
}

std::vector<double> Expected(const std::vector<float>& x, Variant v) {
  const double divisor = v == Variant::kWrongConstant ? 1.5 : std::sqrt(2.0);
  std::vector<double> y;
  for (float xf : x) y.push_back(0.5 * xf * (1.0 + std::erf(xf / divisor)));
  return y;
}

std::vector<float> Input() {
  auto x = RandomFloats(kRows * kCols, 6, -7.0f, 7.0f);
  x[0] = 0.0f;
  x[1] = -30.0f;
  x[2] = 30.0f;
  return x;
}

TEST(FuseGeluErf, SpelledOutGeluBecomesOneActivation) {
  const auto x = Input();
  for (Variant v : {Variant::kPyTorch, Variant::kHalfFirst, Variant::kHalfOnSum}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    const auto row = ReportRow(model.get(), "gelu_gelu");
    ASSERT_FALSE(row.is_null());
    EXPECT_EQ(row["fused"].size(), 5u);
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

TEST(FuseGeluErf, FusesInEveryPrecisionMode) {
  for (const char* mode : {"force_float16", "qint8_mixed_float32", "qint16_mixed_float16"}) {
    SCOPED_TRACE(mode);
    auto network = Make(Variant::kPyTorch);
    auto model = BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}");
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    // float16 storage rounds to 11 bits: 1e-2 covers it; float32 modes are exact up to float rounding.
    const bool f16 = std::string(mode).find("float16") != std::string::npos;
    ExpectClose(RunFirst(model.get(), Input()), Expected(Input(), Variant::kPyTorch), f16 ? 1e-2 : 1e-5);
  }
}

TEST(FuseGeluErf, NearMissesAndPinnedNodesStay) {
  const auto x = Input();
  for (Variant v : {Variant::kErfOutput, Variant::kWrongConstant, Variant::kBroadcast, Variant::kPinnedErf}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_TRUE(ReportRow(model.get(), "gelu_gelu").is_null());
    EXPECT_FALSE(ReportRow(model.get(), "erf").is_null());
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
  auto network = Make(Variant::kPyTorch);
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"node_precision": {"plus_one": "float16"}}})");
  EXPECT_TRUE(ReportRow(model.get(), "gelu_gelu").is_null());
  EXPECT_EQ(ReportOps(model.get()).size(), 5u);
}

}  // namespace
}  // namespace mixq::testing
