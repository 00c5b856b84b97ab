// Export rules: convolutions, pooling, normalization, activations, matrix
// products, softmax.
#include <cmath>
#include <numeric>

#include "frontend/onnx/export/export_rules.h"
#include "ops/layout.h"
#include "util/status_util.h"

namespace mixq::onnx_export {

namespace {

using W = GraphWriter;

// mixq pads are (top, bottom, left, right); ONNX's (begin h, begin w, end h, end w).
void SetWindowAttrs(onnx::NodeProto* n, const ir::AttrMap& a, bool with_dilations) {
  const std::string mode = a.Str("padding_mode");
  if (mode == "EXPLICIT") {
    const auto p = a.Ints("pads");
    W::SetAttr(n, "pads", std::vector<int64_t>{p[0], p[2], p[1], p[3]});
  } else {
    W::SetAttr(n, "auto_pad", mode);
  }
  W::SetAttr(n, "strides", a.Ints("strides"));
  if (with_dilations) W::SetAttr(n, "dilations", a.Ints("dilations"));
}

Status ExportConv(ExportContext& ctx, bool transposed) {
  const ir::AttrMap& a = ctx.attrs();
  ops::AxisMap f;
  if (!ops::FilterAxes(a.Str("filter_layout"), &f)) return InvalidArgument("unknown filter layout");
  // Conv wants (O, I, kh, kw); ConvTranspose (I, O / group, kh, kw).
  const std::vector<int64_t> filter_perm = transposed ? std::vector<int64_t>{f.pos[1], f.pos[0], f.pos[2], f.pos[3]}
                                                      : std::vector<int64_t>{f.pos[0], f.pos[1], f.pos[2], f.pos[3]};
  std::string x, w, b;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x, ToNchw(a.Str("input_layout"))));
  MIXQ_RETURN_IF_ERROR(ctx.Input(1, &w, filter_perm));
  MIXQ_RETURN_IF_ERROR(ctx.Input(2, &b));
  std::vector<std::string> inputs = {x, w};
  if (!b.empty()) inputs.push_back(b);
  onnx::NodeProto* n = AddNchwNode(ctx, transposed ? "ConvTranspose" : "Conv", inputs, a.Str("output_layout"));
  SetWindowAttrs(n, a, true);
  W::SetAttr(n, "group", a.Int("group"));
  if (transposed) W::SetAttr(n, "output_padding", a.Ints("output_padding"));
  return Status::OK();
}

Status ExportPool(ExportContext& ctx, const char* op_type) {
  const ir::AttrMap& a = ctx.attrs();
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x, ToNchw(a.Str("layout"))));
  onnx::NodeProto* n = AddNchwNode(ctx, op_type, {x}, a.Str("layout"));
  W::SetAttr(n, "kernel_shape", a.Ints("kernel"));
  const bool max = std::string(op_type) == "MaxPool";
  SetWindowAttrs(n, a, max);
  W::SetAttr(n, "ceil_mode", a.Int("ceil_mode"));
  if (!max) W::SetAttr(n, "count_include_pad", a.Int("count_include_pad"));
  return Status::OK();
}

Status ExportGlobalAvgPool(ExportContext& ctx) {
  std::string x;
  const std::string layout = ctx.attrs().Str("layout");
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x, ToNchw(layout)));
  AddNchwNode(ctx, "GlobalAveragePool", {x}, layout);
  return Status::OK();
}

// ONNX BatchNormalization normalizes axis 1; other axes go there and back.
Status ExportBatchNorm(ExportContext& ctx) {
  const int64_t rank = static_cast<int64_t>(ctx.InShape(0).size());
  int64_t axis = ctx.attrs().Int("axis");
  if (axis < 0) axis += rank;
  if (rank < 2 || axis < 1)
    return Unimplemented(ir::NodeLabel(ctx.graph(), ctx.node()), ": BatchNorm over axis ", axis, " of a rank-", rank,
                         " tensor has no ONNX BatchNormalization form");
  std::vector<int64_t> perm;
  if (axis != 1) {
    perm = {0, axis};
    for (int64_t d = 1; d < rank; ++d)
      if (d != axis) perm.push_back(d);
  }
  std::string x, mean, var, scale, bias;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x, perm));
  MIXQ_RETURN_IF_ERROR(ctx.Input(1, &mean));
  MIXQ_RETURN_IF_ERROR(ctx.Input(2, &var));
  MIXQ_RETURN_IF_ERROR(ctx.Input(3, &scale));
  MIXQ_RETURN_IF_ERROR(ctx.Input(4, &bias));
  const std::string out = perm.empty() ? ctx.Out(0) : ctx.w().Unique(ctx.Out(0) + "_c1");
  onnx::NodeProto* n = ctx.w().AddNode("BatchNormalization", {x, scale, bias, mean, var}, {out});
  W::SetAttr(n, "epsilon", ctx.attrs().Float("epsilon"));
  if (!perm.empty()) {
    std::vector<int64_t> inverse(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) inverse[static_cast<size_t>(perm[k])] = static_cast<int64_t>(k);
    ctx.Transpose(out, inverse, ctx.Out(0));
  }
  return Status::OK();
}

Status ExportActivation(ExportContext& ctx) {
  const ir::AttrMap& a = ctx.attrs();
  const std::string type = a.Str("type");
  const float alpha = a.Float("alpha"), beta = a.Float("beta");
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  W& w = ctx.w();
  const std::string& y = ctx.Out(0);
  auto simple = [&](const char* op) { return w.AddNode(op, {x}, {y}); };
  if (type == "relu")
    simple("Relu");
  else if (type == "sigmoid")
    simple("Sigmoid");
  else if (type == "tanh")
    simple("Tanh");
  else if (type == "hard_swish")
    simple("HardSwish");
  else if (type == "leaky_relu")
    W::SetAttr(simple("LeakyRelu"), "alpha", std::isnan(alpha) ? 0.01f : alpha);
  else if (type == "hard_sigmoid") {
    onnx::NodeProto* n = simple("HardSigmoid");
    W::SetAttr(n, "alpha", std::isnan(alpha) ? 0.2f : alpha);
    W::SetAttr(n, "beta", std::isnan(beta) ? 0.5f : beta);
  } else if (type == "relu6" || type == "clip") {
    const float lo = type == "relu6" ? 0.0f : alpha, hi = type == "relu6" ? 6.0f : beta;
    const std::string min = std::isnan(lo) ? "" : w.AddFloatScalar(y + "_min", lo);
    const std::string max = std::isnan(hi) ? "" : w.AddFloatScalar(y + "_max", hi);
    w.AddNode("Clip", {x, min, max}, {y});
  } else if (type == "silu") {
    w.AddNode("Mul", {x, w.AddNode1("Sigmoid", {x}, y + "_sigmoid")}, {y});
  } else if (type == "gelu_erf" || type == "gelu_tanh") {
    W::SetAttr(simple("Gelu"), "approximate", std::string(type == "gelu_erf" ? "none" : "tanh"));
  } else {
    return Unimplemented(ir::NodeLabel(ctx.graph(), ctx.node()), ": activation '", type, "' has no export rule");
  }
  return Status::OK();
}

Status ExportMatMul(ExportContext& ctx) {
  std::string a, b;
  const bool ta = ctx.attrs().Int("transpose_a") != 0 && ctx.InShape(0).size() >= 2;
  const bool tb = ctx.attrs().Int("transpose_b") != 0 && ctx.InShape(1).size() >= 2;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &a, ta ? SwapLastTwo(ctx.InShape(0).size()) : std::vector<int64_t>{}));
  MIXQ_RETURN_IF_ERROR(ctx.Input(1, &b, tb ? SwapLastTwo(ctx.InShape(1).size()) : std::vector<int64_t>{}));
  ctx.w().AddNode("MatMul", {a, b}, {ctx.Out(0)});
  return Status::OK();
}

Status ExportGemm(ExportContext& ctx) {
  std::string a, b, c;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &a));
  MIXQ_RETURN_IF_ERROR(ctx.Input(1, &b));
  MIXQ_RETURN_IF_ERROR(ctx.Input(2, &c));
  std::vector<std::string> inputs = {a, b};
  if (!c.empty()) inputs.push_back(c);
  onnx::NodeProto* n = ctx.w().AddNode("Gemm", inputs, {ctx.Out(0)});
  W::SetAttr(n, "transA", ctx.attrs().Int("transpose_a"));
  W::SetAttr(n, "transB", ctx.attrs().Int("transpose_b"));
  W::SetAttr(n, "alpha", ctx.attrs().Float("alpha"));
  W::SetAttr(n, "beta", ctx.attrs().Float("beta"));
  return Status::OK();
}

Status ExportSoftmax(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  W::SetAttr(ctx.w().AddNode("Softmax", {x}, {ctx.Out(0)}), "axis", ctx.attrs().Int("axis"));
  return Status::OK();
}

Status ExportLayerNorm(ExportContext& ctx) {
  std::string x, scale, bias;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Input(1, &scale));
  MIXQ_RETURN_IF_ERROR(ctx.Input(2, &bias));
  std::vector<std::string> inputs = {x, scale};
  if (!bias.empty()) inputs.push_back(bias);
  onnx::NodeProto* n = ctx.w().AddNode("LayerNormalization", inputs, {ctx.Out(0)});
  W::SetAttr(n, "axis", ctx.attrs().Int("axis"));
  W::SetAttr(n, "epsilon", ctx.attrs().Float("epsilon"));
  return Status::OK();
}

}  // namespace

void AddNeuralNetworkRules(ExportRule* t) {
  auto at = [t](OpKind k) -> ExportRule& { return t[static_cast<size_t>(k)]; };
  at(OpKind::kConv2D) = [](ExportContext& c) { return ExportConv(c, false); };
  at(OpKind::kConvTranspose2D) = [](ExportContext& c) { return ExportConv(c, true); };
  at(OpKind::kMaxPool2D) = [](ExportContext& c) { return ExportPool(c, "MaxPool"); };
  at(OpKind::kAvgPool2D) = [](ExportContext& c) { return ExportPool(c, "AveragePool"); };
  at(OpKind::kGlobalAvgPool) = ExportGlobalAvgPool;
  at(OpKind::kBatchNorm) = ExportBatchNorm;
  at(OpKind::kActivation) = ExportActivation;
  at(OpKind::kMatMul) = ExportMatMul;
  at(OpKind::kFullyConnected) = ExportGemm;
  at(OpKind::kSoftmax) = ExportSoftmax;
  at(OpKind::kLayerNorm) = ExportLayerNorm;
}

}  // namespace mixq::onnx_export
