// The LayerNorm rule (passes/fuse_layer_norm.cc): ReduceMean, Sub, Pow 2 (or
// d * d), ReduceMean, Add eps, Sqrt, Div (or Reciprocal and Mul), Mul gamma,
// Add beta over the last axis become one LayerNorm with that epsilon, gamma
// and beta, equal to the formula in double within 1e-5 * (1 + |y|); near
// misses and pinned nodes stay. Spelled out, the network takes x - mean in
// float: on the row with mean 100 and spread 0.2 that costs 1.6e-4 relative
// (ulp(100) / std), the fused LayerNorm (double) stays within 1e-5.
#include "fusion_test_util.h"

namespace mixq::testing {
namespace {

enum class Variant {
  kTorch,        // Pow 2, Div, gamma [C], beta [C]
  kPaddle,       // d * d, Reciprocal + Mul, axes {2}, gamma [1, 1, C], no beta
  kBare,         // no gamma, no beta
  kOverAxisOne,  // the means over axis 1: not the last
  kGammaPerRow,  // gamma of shape [R, 1]: not along the last axis (LayerNorm without it)
  kDiffOutput,   // x - mean is also a network output
  kPinnedSqrt    // node_precision names the Sqrt (set in the test)
};

constexpr int64_t kBatch = 2, kRows = 5, kChannels = 19;
constexpr float kEps = 1e-5f;
constexpr double kSpelledOutTolerance = 3e-4;

std::vector<float> Gamma() {
  return RandomFloats(kChannels, 21, 0.5f, 1.5f);
}
std::vector<float> Beta() {
  return RandomFloats(kChannels, 22);
}
std::vector<float> RowGamma() {
  return RandomFloats(kRows, 23, 0.5f, 1.5f);
}

std::unique_ptr<INetwork> Make(Variant v) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({kBatch, kRows, kChannels}));
  EXPECT_TRUE(x->SetTensorName("x").ok());
  const std::vector<int64_t> axes = v == Variant::kOverAxisOne ? std::vector<int64_t>{1}
                                    : v == Variant::kPaddle    ? std::vector<int64_t>{2}
                                                               : std::vector<int64_t>{-1};
  ITensor* mean = Named(n->AddIReduceNode(x, ReduceOp::MEAN, axes, true), "mean");
  ITensor* d = Binary(n, x, mean, ElementwiseOp::SUB, "diff");
  ITensor* sq = v == Variant::kPaddle ? Binary(n, d, d, ElementwiseOp::MUL, "square")
                                      : Binary(n, d, Scalar(n, 2.0f), ElementwiseOp::POW, "square");
  ITensor* var = Named(n->AddIReduceNode(sq, ReduceOp::MEAN, axes, true), "var");
  ITensor* ve = Binary(n, var, Scalar(n, kEps), ElementwiseOp::ADD, "plus_eps");
  ITensor* s = Named(n->AddIUnaryNode(ve, UnaryOp::SQRT), "sqrt");
  ITensor* y = nullptr;
  if (v == Variant::kPaddle) {
    ITensor* r = Named(n->AddIUnaryNode(s, UnaryOp::RECIPROCAL), "recip");
    y = Binary(n, r, d, ElementwiseOp::MUL, "norm");
    y = Binary(n, y, Constant(n, Dims({1, 1, kChannels}), Gamma()), ElementwiseOp::MUL, "gamma");
  } else {
    y = Binary(n, d, s, ElementwiseOp::DIV, "norm");
    if (v == Variant::kGammaPerRow) {
      y = Binary(n, Constant(n, Dims({kRows, 1}), RowGamma()), y, ElementwiseOp::MUL, "gamma");
      y = Binary(n, y, Constant(n, Dims({kChannels}), Beta()), ElementwiseOp::ADD, "beta");
    } else if (v != Variant::kBare) {
      y = Binary(n, Constant(n, Dims({kChannels}), Gamma()), y, ElementwiseOp::MUL, "gamma");
      y = Binary(n, y, Constant(n, Dims({kChannels}), Beta()), ElementwiseOp::ADD, "beta");
    }
  }
  EXPECT_TRUE(n->MarkOutput(y).ok());
  if (v == Variant::kDiffOutput) {
    EXPECT_TRUE(n->MarkOutput(d).ok());
  }
  return network;
}

std::vector<double> Expected(const std::vector<float>& x, Variant v) {
  const auto gamma = Gamma(), beta = Beta(), row_gamma = RowGamma();
  std::vector<double> y(x.size());
  auto at = [](int64_t b, int64_t r, int64_t c) { return static_cast<size_t>((b * kRows + r) * kChannels + c); };
  const bool over_rows = v == Variant::kOverAxisOne;
  const int64_t outer = over_rows ? kChannels : kRows, inner = over_rows ? kRows : kChannels;
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t o = 0; o < outer; ++o) {
      auto index = [&](int64_t i) { return over_rows ? at(b, i, o) : at(b, o, i); };
      double mean = 0, var = 0;
      for (int64_t i = 0; i < inner; ++i) mean += x[index(i)];
      mean /= static_cast<double>(inner);
      for (int64_t i = 0; i < inner; ++i) var += (x[index(i)] - mean) * (x[index(i)] - mean);
      var /= static_cast<double>(inner);
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t r = over_rows ? i : o, c = over_rows ? o : i;
        double value = (x[index(i)] - mean) / std::sqrt(var + kEps);
        if (v == Variant::kGammaPerRow) value *= row_gamma[static_cast<size_t>(r)];
        if (v == Variant::kTorch || v == Variant::kPaddle || v == Variant::kDiffOutput || v == Variant::kPinnedSqrt ||
            v == Variant::kOverAxisOne)
          value *= gamma[static_cast<size_t>(c)];
        if (v != Variant::kPaddle && v != Variant::kBare) value += beta[static_cast<size_t>(c)];
        y[index(i)] = value;
      }
    }
  return y;
}

std::vector<float> Input() {
  auto x = RandomFloats(kBatch * kRows * kChannels, 24, -3.0f, 5.0f);
  for (int64_t c = 0; c < kChannels; ++c) x[static_cast<size_t>(c)] = 100.0f + 0.01f * static_cast<float>(c);
  return x;  // row 0 has a large mean and a small spread
}

TEST(FuseLayerNorm, SpelledOutLayerNormBecomesOneNode) {
  const auto x = Input();
  struct Case {
    Variant v;
    const char* name;
    size_t fused;
  };
  for (const Case& c : {Case{Variant::kTorch, "beta_layer_norm", 9}, Case{Variant::kPaddle, "gamma_layer_norm", 9},
                        Case{Variant::kBare, "norm_layer_norm", 7}}) {
    SCOPED_TRACE(c.name);
    auto network = Make(c.v);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"LayerNorm"});
    const auto row = ReportRow(model.get(), c.name);
    ASSERT_FALSE(row.is_null());
    EXPECT_EQ(row["fused"].size(), c.fused);
    ExpectClose(RunFirst(model.get(), x), Expected(x, c.v), 1e-5);
  }
}

TEST(FuseLayerNorm, FusesInEveryPrecisionMode) {
  // Not the row of mean 100: float16 storage of x alone would wipe out its spread.
  const auto x = RandomFloats(kBatch * kRows * kChannels, 25, -3.0f, 5.0f);
  for (const char* mode : {"force_float16", "qint8_mixed_float32", "qint16_mixed_float16"}) {
    SCOPED_TRACE(mode);
    auto network = Make(Variant::kTorch);
    auto model = BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + mode + "\"}}");
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(ReportOps(model.get()), std::vector<std::string>{"LayerNorm"});
    // float16 storage rounds to 11 bits: 1e-2 covers it; float32 modes are exact up to float rounding.
    const bool f16 = std::string(mode).find("float16") != std::string::npos;
    ExpectClose(RunFirst(model.get(), x), Expected(x, Variant::kTorch), f16 ? 1e-2 : 1e-5);
  }
}

TEST(FuseLayerNorm, NearMissesAndPinnedNodesStay) {
  const auto x = Input();
  // Over axis 1 and with x - mean read outside, nothing is fused.
  for (Variant v : {Variant::kOverAxisOne, Variant::kDiffOutput}) {
    SCOPED_TRACE(static_cast<int>(v));
    auto network = Make(v);
    auto model = BuildOrDie(network.get());
    for (const std::string& op : ReportOps(model.get())) EXPECT_NE(op, "LayerNorm");
    ExpectClose(RunFirst(model.get(), x), Expected(x, v), kSpelledOutTolerance);
  }
  {  // gamma along the rows is no LayerNorm scale: it and the beta after it stay.
    auto network = Make(Variant::kGammaPerRow);
    auto model = BuildOrDie(network.get());
    EXPECT_EQ(ReportOps(model.get()), (std::vector<std::string>{"LayerNorm", "Elementwise", "Elementwise"}));
    ExpectClose(RunFirst(model.get(), x), Expected(x, Variant::kGammaPerRow), 1e-5);
  }
  auto network = Make(Variant::kPinnedSqrt);
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"node_precision": {"sqrt": "float32"}}})");
  for (const std::string& op : ReportOps(model.get())) EXPECT_NE(op, "LayerNorm");
  ExpectClose(RunFirst(model.get(), x), Expected(x, Variant::kPinnedSqrt), kSpelledOutTolerance);
}

}  // namespace
}  // namespace mixq::testing
