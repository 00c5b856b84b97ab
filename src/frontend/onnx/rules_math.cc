// Gemm, MatMul, Softmax, reductions, LayerNormalization, Pad, Resize.
#include <cmath>

#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

Status MapGemm(NodeContext& ctx) {
  ITensor *a = nullptr, *b = nullptr, *c = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &a));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &b));
  if (ctx.HasInput(2)) MIXQ_RETURN_IF_ERROR(ctx.Tensor(2, &c));
  int64_t trans_a = 0, trans_b = 0;
  float alpha = 1.0f, beta = 1.0f;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("transA", 0, &trans_a));
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("transB", 0, &trans_b));
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("alpha", 1.0f, &alpha));
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("beta", 1.0f, &beta));
  IFullyConnectedNode* node = ctx.network()->AddIFullyConnectedNode(a, b, c);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(node->SetTransposeA(trans_a != 0));
  // mixq's default is B stored [N, K] (transpose_b = 1); ONNX's is [K, N].
  MIXQ_RETURN_IF_ERROR(node->SetTransposeB(trans_b != 0));
  MIXQ_RETURN_IF_ERROR(node->SetAlpha(alpha));
  MIXQ_RETURN_IF_ERROR(node->SetBeta(beta));
  return ctx.Bind(node);
}

Status MapMatMul(NodeContext& ctx) {
  ITensor *a = nullptr, *b = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &a));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &b));
  IMatMulNode* node = ctx.network()->AddIMatMulNode(a, b);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// Softmax over `axis`. Before opset 13 ONNX flattened the input to 2-D at
// `axis` and normalized over all trailing dims together: done as Flatten,
// Softmax, Reshape back (unless axis is already the last one).
Status AddSoftmax(NodeContext& ctx, bool log) {
  const int64_t default_axis = ctx.opset() < 13 ? 1 : -1;
  int64_t axis = default_axis;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", default_axis, &axis));
  Dims dims;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &dims));
  const int64_t rank = dims.GetDimsNum();
  MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "attribute 'axis'", &axis));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  const bool coerce = ctx.opset() < 13 && axis != rank - 1;
  std::vector<INode*> chain;
  if (coerce) {
    int unknown = 0;
    for (int64_t d : dims.GetDims()) unknown += d < 0;
    if (unknown > 1)
      return Unimplemented("opset < 13 Softmax over a middle axis needs at most one dim only known at run time");
    IFlattenNode* flat = ctx.network()->AddIFlattenNode(x, axis);
    MIXQ_RETURN_IF_ERROR(ctx.Added(flat));
    chain.push_back(flat);
  }
  ITensor* in = chain.empty() ? x : chain.back()->GetOutput(0);
  ISoftmaxNode* softmax = ctx.network()->AddISoftmaxNode(in, coerce ? 1 : axis);
  MIXQ_RETURN_IF_ERROR(ctx.Added(softmax));
  chain.push_back(softmax);
  if (coerce) {
    IReshapeNode* back = ctx.network()->AddIReshapeNode(softmax->GetOutput(0), dims);
    MIXQ_RETURN_IF_ERROR(ctx.Added(back));
    chain.push_back(back);
  }
  if (log) {
    IUnaryNode* ln = ctx.network()->AddIUnaryNode(chain.back()->GetOutput(0), UnaryOp::LOG);
    MIXQ_RETURN_IF_ERROR(ctx.Added(ln));
    chain.push_back(ln);
  }
  for (size_t i = 0; i + 1 < chain.size(); ++i) MIXQ_RETURN_IF_ERROR(ctx.NameHelper(chain[i], StrCat("step", i)));
  return ctx.Bind(chain.back());
}

Status MapSoftmax(NodeContext& ctx) {
  return AddSoftmax(ctx, false);
}
Status MapLogSoftmax(NodeContext& ctx) {
  return AddSoftmax(ctx, true);
}

// Reductions: axes are an attribute until opset 18 (ReduceSum: 13), an
// optional input after; noop_with_empty_axes makes empty axes an identity.
Status AddReduce(NodeContext& ctx, ReduceOp op, int axes_input_since) {
  std::vector<int64_t> axes;
  if (ctx.opset() < axes_input_since) {
    MIXQ_RETURN_IF_ERROR(ctx.AttrInts("axes", {}, &axes));
  } else if (ctx.HasInput(1)) {
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "axes", &axes));
  }
  int64_t keepdims = 1, noop = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("keepdims", 1, &keepdims));
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("noop_with_empty_axes", 0, &noop));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  if (axes.empty() && noop) return ctx.SetOutput(0, x);
  IReduceNode* node = ctx.network()->AddIReduceNode(x, op, axes, keepdims != 0);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

Status MapReduceMean(NodeContext& ctx) {
  return AddReduce(ctx, ReduceOp::MEAN, 18);
}
Status MapReduceSum(NodeContext& ctx) {
  return AddReduce(ctx, ReduceOp::SUM, 13);
}
Status MapReduceMax(NodeContext& ctx) {
  return AddReduce(ctx, ReduceOp::MAX, 18);
}
Status MapReduceMin(NodeContext& ctx) {
  return AddReduce(ctx, ReduceOp::MIN, 18);
}

// The optional Mean and InvStdDev outputs (training-time statistics) are
// recomputed beside the LayerNorm node with Reduce / Elementwise / Unary.
Status AddLayerNormStatistics(NodeContext& ctx, ITensor* x, int64_t axis, float epsilon) {
  int64_t rank = 0;
  MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
  MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "attribute 'axis'", &axis));
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a) axes.push_back(a);
  INetwork* net = ctx.network();
  IReduceNode* mean = net->AddIReduceNode(x, ReduceOp::MEAN, axes, true);
  MIXQ_RETURN_IF_ERROR(ctx.Added(mean));
  IElementwiseNode* diff = net->AddIElementwiseNode(x, mean->GetOutput(0), ElementwiseOp::SUB);
  MIXQ_RETURN_IF_ERROR(ctx.Added(diff));
  IElementwiseNode* square = net->AddIElementwiseNode(diff->GetOutput(0), diff->GetOutput(0), ElementwiseOp::MUL);
  MIXQ_RETURN_IF_ERROR(ctx.Added(square));
  IReduceNode* var = net->AddIReduceNode(square->GetOutput(0), ReduceOp::MEAN, axes, true);
  MIXQ_RETURN_IF_ERROR(ctx.Added(var));
  IConstNode* eps = net->AddIConstNode(DataType::FLOAT32, Dims{}, &epsilon);
  MIXQ_RETURN_IF_ERROR(ctx.Added(eps));
  IElementwiseNode* shifted = net->AddIElementwiseNode(var->GetOutput(0), eps->GetOutput(0), ElementwiseOp::ADD);
  MIXQ_RETURN_IF_ERROR(ctx.Added(shifted));
  IUnaryNode* stddev = net->AddIUnaryNode(shifted->GetOutput(0), UnaryOp::SQRT);
  MIXQ_RETURN_IF_ERROR(ctx.Added(stddev));
  IUnaryNode* inv = net->AddIUnaryNode(stddev->GetOutput(0), UnaryOp::RECIPROCAL);
  MIXQ_RETURN_IF_ERROR(ctx.Added(inv));
  const std::vector<std::pair<INode*, const char*>> helpers = {{diff, "centered"},        {square, "squared"},
                                                               {var, "variance"},         {eps, "epsilon"},
                                                               {shifted, "variance_eps"}, {stddev, "stddev"}};
  for (const auto& [node, suffix] : helpers) MIXQ_RETURN_IF_ERROR(ctx.NameHelper(node, suffix));
  MIXQ_RETURN_IF_ERROR(mean->SetNodeName(ctx.HelperName("mean")));
  MIXQ_RETURN_IF_ERROR(inv->SetNodeName(ctx.HelperName("inv_stddev")));
  if (ctx.HasOutput(1))
    MIXQ_RETURN_IF_ERROR(ctx.SetOutput(1, mean->GetOutput(0)));
  else
    MIXQ_RETURN_IF_ERROR(mean->GetOutput(0)->SetTensorName(ctx.HelperName("mean_out")));
  if (ctx.HasOutput(2))
    MIXQ_RETURN_IF_ERROR(ctx.SetOutput(2, inv->GetOutput(0)));
  else
    MIXQ_RETURN_IF_ERROR(inv->GetOutput(0)->SetTensorName(ctx.HelperName("inv_stddev_out")));
  return Status::OK();
}

Status MapLayerNormalization(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputsAtMost(3));
  ITensor *x = nullptr, *scale = nullptr, *bias = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &scale));
  if (ctx.HasInput(2)) MIXQ_RETURN_IF_ERROR(ctx.Tensor(2, &bias));
  int64_t axis = -1;
  float epsilon = 1e-5f;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", -1, &axis));
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("epsilon", 1e-5f, &epsilon));
  ILayerNormNode* node = ctx.network()->AddILayerNormNode(x, scale, bias, axis);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(node->SetEpsilon(epsilon));
  if (ctx.HasOutput(1) || ctx.HasOutput(2)) MIXQ_RETURN_IF_ERROR(AddLayerNormStatistics(ctx, x, axis, epsilon));
  MIXQ_RETURN_IF_ERROR(node->SetNodeName(ctx.name()));
  return ctx.SetOutput(0, node->GetOutput(0));
}

// Pad (opset 11+): pads and constant_value are inputs; axes from opset 18.
Status MapPad(NodeContext& ctx) {
  std::string mode;
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("mode", "constant", &mode));
  PadMode pad_mode;
  if (mode == "constant") {
    pad_mode = PadMode::CONSTANT;
  } else if (mode == "reflect") {
    pad_mode = PadMode::REFLECT;
  } else if (mode == "edge") {
    pad_mode = PadMode::EDGE;
  } else {
    return Unimplemented("attribute 'mode' = '", mode, "' is not supported (constant, reflect, edge)");
  }
  std::vector<int64_t> pads, axes;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "pads", &pads));
  int64_t rank = 0;
  MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
  if (ctx.HasInput(3)) {
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(3, "axes", &axes));
    if (pads.size() != 2 * axes.size()) return InvalidArgument("'pads' must hold 2 values per axis in 'axes'");
    std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      int64_t a = 0;
      MIXQ_RETURN_IF_ERROR(NormalizeAxis(axes[k], rank, "axis", &a));
      full[static_cast<size_t>(a)] = pads[k];
      full[static_cast<size_t>(a + rank)] = pads[k + axes.size()];
    }
    pads = full;
  }
  float value = 0.0f;
  if (ctx.HasInput(2)) {
    std::vector<float> v;
    MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(2, "constant_value", &v));
    if (v.size() != 1) return InvalidArgument("input 2 ('constant_value') must be a scalar");
    value = v[0];
  }
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IPadNode* node = ctx.network()->AddIPadNode(x, pads, pad_mode);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(node->SetValue(value));
  return ctx.Bind(node);
}

// Resize: scales or sizes (inputs 2 / 3, constants), with axes from opset 18
// expanded to one value per axis.
Status MapResize(NodeContext& ctx) {
  std::string mode, transform, nearest, aspect;
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("mode", "nearest", &mode));
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("coordinate_transformation_mode", "half_pixel", &transform));
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("nearest_mode", "round_prefer_floor", &nearest));
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("keep_aspect_ratio_policy", "stretch", &aspect));
  if (mode != "nearest" && mode != "linear")
    return Unimplemented("attribute 'mode' = '", mode, "' is not supported (nearest, linear)");
  if (transform == "tf_crop_and_resize" || transform == "half_pixel_symmetric" || transform == "tf_half_pixel_for_nn")
    return Unimplemented("attribute 'coordinate_transformation_mode' = '", transform, "' is not supported");
  if (aspect != "stretch")
    return Unimplemented("attribute 'keep_aspect_ratio_policy' = '", aspect, "' is not supported (stretch only)");
  MIXQ_RETURN_IF_ERROR(ctx.ExpectAttrInt("antialias", 0, "no antialiasing"));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectAttrInt("exclude_outside", 0, "cubic mode only"));
  Dims in;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &in));
  const int64_t rank = in.GetDimsNum();
  std::vector<int64_t> axes;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInts("axes", {}, &axes));
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  for (int64_t& a : axes) MIXQ_RETURN_IF_ERROR(NormalizeAxis(a, rank, "axis", &a));

  std::vector<float> scales, full_scales(static_cast<size_t>(rank), 1.0f);
  std::vector<int64_t> sizes, full_sizes;
  // An empty tensor (or a missing input) means "not given".
  if (ctx.HasInput(2) && (!ctx.Constant(2) || ctx.Constant(2)->ElementCount() > 0))
    MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(2, "scales", &scales));
  if (ctx.HasInput(3) && (!ctx.Constant(3) || ctx.Constant(3)->ElementCount() > 0))
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(3, "sizes", &sizes));
  if (scales.empty() == sizes.empty()) return InvalidArgument("exactly one of 'scales' and 'sizes' must be given");
  const size_t n = scales.empty() ? sizes.size() : scales.size();
  if (n != axes.size()) return InvalidArgument("'scales' / 'sizes' must hold one value per resized axis");
  if (!sizes.empty()) {
    full_sizes = in.GetDims();
    for (size_t k = 0; k < n; ++k) full_sizes[static_cast<size_t>(axes[k])] = sizes[k];
    for (int64_t d : full_sizes)
      if (d < 0) return Unimplemented("'sizes' with 'axes' needs the other dims known at import");
  } else {
    for (size_t k = 0; k < n; ++k) full_scales[static_cast<size_t>(axes[k])] = scales[k];
  }
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IResizeNode* node =
      ctx.network()->AddIResizeNode(x, full_scales, mode == "nearest" ? ResizeMode::NEAREST : ResizeMode::LINEAR);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  if (!full_sizes.empty()) MIXQ_RETURN_IF_ERROR(node->SetAttr("sizes", full_sizes));
  MIXQ_RETURN_IF_ERROR(node->SetCoordinateTransformMode(transform));
  MIXQ_RETURN_IF_ERROR(node->SetNearestMode(nearest));
  return ctx.Bind(node);
}

}  // namespace

void AddMathRules(std::vector<Rule>* rules) {
  rules->insert(
      rules->end(),
      {
          {"Gemm", MapGemm, nullptr, "", "FullyConnected", ""},
          {"MatMul", MapMatMul, nullptr, "", "MatMul", ""},
          {"Softmax", MapSoftmax, nullptr, "",
           "Softmax (Flatten + Softmax + Reshape for opset < 13 over a middle axis)", ""},
          {"LogSoftmax", MapLogSoftmax, nullptr, "", "Softmax + Unary log", "computed as log(softmax(x))"},
          {"ReduceMean", MapReduceMean, nullptr, "1", "Reduce mean", "'axes' must be constant"},
          {"ReduceSum", MapReduceSum, nullptr, "1", "Reduce sum", "'axes' must be constant"},
          {"ReduceMax", MapReduceMax, nullptr, "1", "Reduce max", "'axes' must be constant"},
          {"ReduceMin", MapReduceMin, nullptr, "1", "Reduce min", "'axes' must be constant"},
          {"LayerNormalization", MapLayerNormalization, nullptr, "",
           "LayerNorm (+ Reduce, Elementwise, Unary for Mean / InvStdDev)", ""},
          {"Pad", MapPad, nullptr, "1,2,3", "Pad", "constant, reflect, edge (no wrap); pads / value / axes constant"},
          {"Resize", MapResize, nullptr, "1,2,3", "Resize",
           "nearest / linear; no cubic, tf_crop_and_resize, half_pixel_symmetric, antialias; scales / sizes constant"},
      });
}

}  // namespace mixq::onnx_import
