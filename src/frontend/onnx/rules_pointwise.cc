// Pointwise ops: activations -> Activation, math -> Unary, binary arithmetic ->
// Elementwise (folded at import time when both operands are known).
#include <cmath>
#include <limits>

#include "frontend/onnx/fold_util.h"
#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

Status AddActivation(NodeContext& ctx, ActivationType type, float alpha, float beta) {
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IActivationNode* node = ctx.network()->AddIActivationNode(x, type);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  if (!std::isnan(alpha)) MIXQ_RETURN_IF_ERROR(node->SetAlpha(alpha));
  if (!std::isnan(beta)) MIXQ_RETURN_IF_ERROR(node->SetBeta(beta));
  return ctx.Bind(node);
}

constexpr float kUnset = std::numeric_limits<float>::quiet_NaN();

Status MapRelu(NodeContext& ctx) {
  return AddActivation(ctx, ActivationType::RELU, kUnset, kUnset);
}
Status MapSigmoid(NodeContext& ctx) {
  return AddActivation(ctx, ActivationType::SIGMOID, kUnset, kUnset);
}
Status MapTanh(NodeContext& ctx) {
  return AddActivation(ctx, ActivationType::TANH, kUnset, kUnset);
}
Status MapHardSwish(NodeContext& ctx) {
  return AddActivation(ctx, ActivationType::HARD_SWISH, kUnset, kUnset);
}

Status MapLeakyRelu(NodeContext& ctx) {
  float alpha = 0.01f;
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("alpha", 0.01f, &alpha));
  return AddActivation(ctx, ActivationType::LEAKY_RELU, alpha, kUnset);
}

Status MapHardSigmoid(NodeContext& ctx) {
  float alpha = 0.2f, beta = 0.5f;
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("alpha", 0.2f, &alpha));
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("beta", 0.5f, &beta));
  return AddActivation(ctx, ActivationType::HARD_SIGMOID, alpha, beta);
}

// Clip (opset 11+): bounds are optional scalar inputs that must be constants.
Status MapClip(NodeContext& ctx) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.HasInput(i)) continue;
    std::vector<float> v;
    MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(i, i == 1 ? "min" : "max", &v));
    if (v.size() != 1) return InvalidArgument("input ", i, " must be a scalar, got ", v.size(), " values");
    (i == 1 ? lo : hi) = v[0];
  }
  DataType type;
  MIXQ_RETURN_IF_ERROR(ctx.InputType(0, &type));
  if (type != DataType::FLOAT32 && type != DataType::FLOAT16)
    return Unimplemented("Clip on ", DataTypeName(type), " is not supported (float only)");
  return AddActivation(ctx, ActivationType::CLIP, lo, hi);
}

Status MapGelu(NodeContext& ctx) {
  std::string approximate;
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("approximate", "none", &approximate));
  if (approximate == "none") return AddActivation(ctx, ActivationType::GELU_ERF, kUnset, kUnset);
  if (approximate == "tanh") return AddActivation(ctx, ActivationType::GELU_TANH, kUnset, kUnset);
  return InvalidArgument("attribute 'approximate' must be 'none' or 'tanh', got '", approximate, "'");
}

Status AddUnary(NodeContext& ctx, UnaryOp op) {
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IUnaryNode* node = ctx.network()->AddIUnaryNode(x, op);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

Status MapSqrt(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::SQRT);
}
Status MapExp(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::EXP);
}
Status MapLog(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::LOG);
}
Status MapAbs(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::ABS);
}
Status MapNeg(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::NEG);
}
Status MapErf(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::ERF);
}
Status MapReciprocal(NodeContext& ctx) {
  return AddUnary(ctx, UnaryOp::RECIPROCAL);
}

// Variadic Max / Min / Sum chain pairwise Elementwise nodes; the last one
// carries the ONNX node's name.
Status AddElementwiseChain(NodeContext& ctx, ElementwiseOp op, IElementwiseNode** last) {
  if (ctx.InputCount() < 1) return InvalidArgument("needs at least one input");
  ITensor* acc = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &acc));
  if (ctx.InputCount() == 1) {
    // One input: the result is the input itself; x op x would be wrong for Sum.
    *last = nullptr;
    return ctx.SetOutput(0, acc);
  }
  for (int i = 1; i < ctx.InputCount(); ++i) {
    ITensor* next = nullptr;
    MIXQ_RETURN_IF_ERROR(ctx.Tensor(i, &next));
    IElementwiseNode* node = ctx.network()->AddIElementwiseNode(acc, next, op);
    MIXQ_RETURN_IF_ERROR(ctx.Added(node));
    if (i + 1 < ctx.InputCount()) MIXQ_RETURN_IF_ERROR(ctx.NameHelper(node, StrCat("partial", i)));
    acc = node->GetOutput(0);
    *last = node;
  }
  return Status::OK();
}

Status MapBinary(NodeContext& ctx, ElementwiseOp op) {
  IElementwiseNode* last = nullptr;
  MIXQ_RETURN_IF_ERROR(AddElementwiseChain(ctx, op, &last));
  return last ? ctx.Bind(last) : Status::OK();
}

Status MapAdd(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::ADD);
}
Status MapSub(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::SUB);
}
Status MapMul(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::MUL);
}
Status MapDiv(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::DIV);
}
Status MapPow(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::POW);
}
Status MapMax(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::MAX);
}
Status MapMin(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::MIN);
}
Status MapSum(NodeContext& ctx) {
  return MapBinary(ctx, ElementwiseOp::ADD);
}

// Mean = Sum * (1 / n).
Status MapMean(NodeContext& ctx) {
  IElementwiseNode* sum = nullptr;
  MIXQ_RETURN_IF_ERROR(AddElementwiseChain(ctx, ElementwiseOp::ADD, &sum));
  if (!sum) return Status::OK();
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(sum, "sum"));
  const float inv = 1.0f / static_cast<float>(ctx.InputCount());
  IConstNode* scale = ctx.network()->AddIConstNode(DataType::FLOAT32, Dims{}, &inv);
  MIXQ_RETURN_IF_ERROR(ctx.Added(scale));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(scale, "inv_count"));
  IElementwiseNode* node =
      ctx.network()->AddIElementwiseNode(sum->GetOutput(0), scale->GetOutput(0), ElementwiseOp::MUL);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// PRelu: max(x, 0) + slope * min(x, 0).
Status MapPRelu(NodeContext& ctx) {
  ITensor *x = nullptr, *slope = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &slope));
  const float zero = 0.0f;
  IConstNode* z = ctx.network()->AddIConstNode(DataType::FLOAT32, Dims{}, &zero);
  MIXQ_RETURN_IF_ERROR(ctx.Added(z));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(z, "zero"));
  IActivationNode* pos = ctx.network()->AddIActivationNode(x, ActivationType::RELU);
  MIXQ_RETURN_IF_ERROR(ctx.Added(pos));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(pos, "positive"));
  IElementwiseNode* neg = ctx.network()->AddIElementwiseNode(x, z->GetOutput(0), ElementwiseOp::MIN);
  MIXQ_RETURN_IF_ERROR(ctx.Added(neg));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(neg, "negative"));
  IElementwiseNode* scaled = ctx.network()->AddIElementwiseNode(neg->GetOutput(0), slope, ElementwiseOp::MUL);
  MIXQ_RETURN_IF_ERROR(ctx.Added(scaled));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(scaled, "scaled"));
  IElementwiseNode* node =
      ctx.network()->AddIElementwiseNode(pos->GetOutput(0), scaled->GetOutput(0), ElementwiseOp::ADD);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- folding of binary arithmetic (shape computations, constant weights).
// Integer arithmetic wraps (through uint64) instead of overflowing.

int64_t Wrap(uint64_t v) {
  return static_cast<int64_t>(v);
}

Status FoldWith(NodeContext& ctx, const std::function<int64_t(int64_t, int64_t)>& int_op,
                const std::function<float(float, float)>& float_op) {
  if (ctx.InputCount() != 2) return InvalidArgument("needs 2 inputs, got ", ctx.InputCount());
  const FoldValue *a = nullptr, *b = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &a));
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(1, &b));
  FoldValue out;
  MIXQ_RETURN_IF_ERROR(FoldBinary(*a, *b, int_op, float_op, &out));
  return ctx.SetConstOutput(0, std::move(out));
}

Status FoldAdd(NodeContext& ctx) {
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return Wrap(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)); },
      [](float x, float y) { return x + y; });
}
Status FoldSub(NodeContext& ctx) {
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return Wrap(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)); },
      [](float x, float y) { return x - y; });
}
Status FoldMul(NodeContext& ctx) {
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return Wrap(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)); },
      [](float x, float y) { return x * y; });
}
Status FoldDiv(NodeContext& ctx) {
  const FoldValue* b = ctx.Constant(1);
  if (b && b->IsInt())
    for (const SymInt& v : b->ints)
      if (v.known && v.value == 0) return InvalidArgument("integer division by zero");
  // INT64_MIN / -1 overflows; the quotient wraps like the other ops.
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return y == -1 ? Wrap(0 - static_cast<uint64_t>(x)) : x / y; },
      [](float x, float y) { return x / y; });
}
Status FoldMax(NodeContext& ctx) {
  if (ctx.InputCount() != 2) return MapMax(ctx);
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return x > y ? x : y; }, [](float x, float y) { return std::fmax(x, y); });
}
Status FoldMin(NodeContext& ctx) {
  if (ctx.InputCount() != 2) return MapMin(ctx);
  return FoldWith(
      ctx, [](int64_t x, int64_t y) { return x < y ? x : y; }, [](float x, float y) { return std::fmin(x, y); });
}

// Unary math folded over known values (shape arithmetic such as Neg(axis)).
Status FoldUnaryWith(NodeContext& ctx, int64_t (*int_op)(int64_t), float (*float_op)(float), RuleFn map) {
  const FoldValue* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x));
  FoldValue out = *x;
  if (x->IsFloat()) {
    for (float& f : out.floats) f = float_op(f);
  } else if (x->IsInt() && int_op) {
    for (SymInt& v : out.ints) v = v.known ? SymInt::Known(int_op(v.value)) : SymInt::Unknown();
  } else {
    return map(ctx);  // types the fold does not cover go to the network's Unary node
  }
  return ctx.SetConstOutput(0, std::move(out));
}

Status FoldNeg(NodeContext& ctx) {
  return FoldUnaryWith(
      ctx, [](int64_t v) { return Wrap(0 - static_cast<uint64_t>(v)); }, [](float v) { return -v; }, MapNeg);
}
Status FoldAbs(NodeContext& ctx) {
  return FoldUnaryWith(
      ctx, [](int64_t v) { return v < 0 ? Wrap(0 - static_cast<uint64_t>(v)) : v; },
      [](float v) { return std::fabs(v); }, MapAbs);
}
Status FoldSqrt(NodeContext& ctx) {
  return FoldUnaryWith(
      ctx, nullptr, [](float v) { return std::sqrt(v); }, MapSqrt);
}
Status FoldReciprocal(NodeContext& ctx) {
  return FoldUnaryWith(
      ctx, nullptr, [](float v) { return 1.0f / v; }, MapReciprocal);
}

}  // namespace

void AddPointwiseRules(std::vector<Rule>* rules) {
  rules->insert(rules->end(),
                {
                    {"Relu", MapRelu, nullptr, "", "Activation relu", ""},
                    {"LeakyRelu", MapLeakyRelu, nullptr, "", "Activation leaky_relu", ""},
                    {"Sigmoid", MapSigmoid, nullptr, "", "Activation sigmoid", ""},
                    {"Tanh", MapTanh, nullptr, "", "Activation tanh", ""},
                    {"HardSigmoid", MapHardSigmoid, nullptr, "", "Activation hard_sigmoid", ""},
                    {"HardSwish", MapHardSwish, nullptr, "", "Activation hard_swish", ""},
                    {"Clip", MapClip, nullptr, "1,2", "Activation clip", "float only; min / max must be constants"},
                    {"Gelu", MapGelu, nullptr, "", "Activation gelu_erf / gelu_tanh", ""},
                    {"PRelu", MapPRelu, nullptr, "", "Activation relu + Elementwise min, mul, add", ""},
                    {"Sqrt", MapSqrt, FoldSqrt, "", "Unary sqrt", ""},
                    {"Exp", MapExp, nullptr, "", "Unary exp", ""},
                    {"Log", MapLog, nullptr, "", "Unary log", ""},
                    {"Abs", MapAbs, FoldAbs, "", "Unary abs", ""},
                    {"Neg", MapNeg, FoldNeg, "", "Unary neg", ""},
                    {"Erf", MapErf, nullptr, "", "Unary erf", ""},
                    {"Reciprocal", MapReciprocal, FoldReciprocal, "", "Unary reciprocal", ""},
                    {"Add", MapAdd, FoldAdd, "", "Elementwise add", ""},
                    {"Sub", MapSub, FoldSub, "", "Elementwise sub", ""},
                    {"Mul", MapMul, FoldMul, "", "Elementwise mul", ""},
                    {"Div", MapDiv, FoldDiv, "", "Elementwise div", ""},
                    {"Pow", MapPow, nullptr, "", "Elementwise pow", "FLOAT32 base and exponent"},
                    {"Max", MapMax, FoldMax, "", "Elementwise max (chained)", ""},
                    {"Min", MapMin, FoldMin, "", "Elementwise min (chained)", ""},
                    {"Sum", MapSum, nullptr, "", "Elementwise add (chained)", ""},
                    {"Mean", MapMean, nullptr, "", "Elementwise add (chained), mul", ""},
                });
}

}  // namespace mixq::onnx_import
