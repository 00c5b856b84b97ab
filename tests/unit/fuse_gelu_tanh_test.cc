// The GELU (tanh) rule (passes/fuse_gelu_tanh.cc): 0.5 * x * (1 + tanh(
// sqrt(2 / pi) * (x + 0.044715 * x^3))), x^3 as Pow(x, 3) or x * x * x,
// becomes one Activation gelu_tanh, matching the formula in double within
// 1e-6 * (1 + |y|); near misses and pinned nodes stay.
#include <numbers>

#include "fusion_test_util.h"

namespace mixq::testing {
namespace {

enum class Variant {
  kPow,           // HF "gelu_new": Pow(x, 3), halving last
  kMulCube,       // x * (x * x), x * 0.5 first
  kSquareTimesX,  // (x * x) * x, halving the sum
  kCubeOutput,    // x^3 is also a network output
  kWrongCoeff,    // 0.05 instead of 0.044715
  kPinnedTanh     // SetPrecision on the tanh
};

constexpr int64_t kRows = 2, kCols = 41;

std::unique_ptr<INetwork> Make(Variant v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({kRows, kCols}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  ITensor* cube = nullptr;
  if (v == Variant::kMulCube) {
    cube = Binary(n, x, Binary(n, x, x, ElementwiseOp::MUL, "square"), ElementwiseOp::MUL, "cube");
  } else if (v == Variant::kSquareTimesX) {
    cube = Binary(n, Binary(n, x, x, ElementwiseOp::MUL, "square"), x, ElementwiseOp::MUL, "cube");
  } else {
    cube = Binary(n, x, Scalar(n, 3.0f), ElementwiseOp::POW, "cube");
  }
  ITensor* cubic =
      Binary(n, Scalar(n, v == Variant::kWrongCoeff ? 0.05f : 0.044715f), cube, ElementwiseOp::MUL, "cubic");
  ITensor* inner = Binary(n, x, cubic, ElementwiseOp::ADD, "inner");
  ITensor* arg = Binary(n, inner, Scalar(n, 0.7978845608f), ElementwiseOp::MUL, "arg");
  IActivationNode* tanh_node = n->AddIActivationNode(arg, ActivationType::TANH);
  ITensor* t = Named(tanh_node, "tanh");
  if (v == Variant::kPinnedTanh) {
    EXPECT_TRUE(tanh_node->SetPrecision(0, DataType::FLOAT32).ok());
  }
  ITensor* sum = Binary(n, t, Scalar(n, 1.0f), ElementwiseOp::ADD, "plus_one");
  ITensor* y = nullptr;
  if (v == Variant::kMulCube) {
    y = Binary(n, Binary(n, Scalar(n, 0.5f), x, ElementwiseOp::MUL, "half_x"), sum, ElementwiseOp::MUL, "gelu");
  } else if (v == Variant::kSquareTimesX) {
    y = Binary(n, Binary(n, sum, Scalar(n, 0.5f), ElementwiseOp::MUL, "halve"), x, ElementwiseOp::MUL, "gelu");
  } else {
    y = Binary(n, Binary(n, x, sum, ElementwiseOp::MUL, "times_x"), Scalar(n, 0.5f), ElementwiseOp::MUL, "gelu");
  }
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v == Variant::kCubeOutput) {
    EXPECT_TRUE(n->MarkOutput(cube).ok());
  }
  return network;
}

std::vector<double> Expected(const std::vector<float>& x, Variant v) {
  const double c = v == Variant::kWrongCoeff ? 0.05 : 0.044715, k = std::sqrt(2.0 / std::numbers::pi);
  std::vector<double> y;
  for (float xf : x) {
    const double xv = xf;
    y.push_back(0.5 * xv * (1.0 + std::tanh(k * (xv + c * xv * xv * xv))));
  }
  return y;
}

std::vector<float> Input() {
  auto x = RandomFloats(kRows * kCols, 7, -6.0f, 6.0f);
  x[0] = 0.0f;
  x[1] = -25.0f;
  x[2] = 25.0f;
  return x;
}

TEST(FuseGeluTanh, SpelledOutGeluBecomesOneActivation) {
  const auto x = Input();
  for (Variant v : {Variant::kPow, Variant::kMulCube, Variant::kSquareTimesX}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"Activation"});
    const auto row = ReportRow(model.get(), "gelu_gelu");
    ASSERT_FALSE(row.is_null());
    EXPECT_EQ(row["fused"].size(), v == Variant::kPow ? 8u : 9u);
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

TEST(FuseGeluTanh, NearMissesAndPinnedNodesStay) {
  const auto x = Input();
  for (Variant v : {Variant::kCubeOutput, Variant::kWrongCoeff, Variant::kPinnedTanh}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    EXPECT_TRUE(ReportRow(model.get(), "gelu_gelu").is_null());
    EXPECT_FALSE(ReportRow(model.get(), "tanh").is_null());
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), 1e-6);
  }
}

}  // namespace
}  // namespace mixq::testing
