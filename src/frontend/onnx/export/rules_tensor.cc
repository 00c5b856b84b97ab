// Export rules: elementwise math, shape and data movement, reductions, casts.
#include <cctype>

#include "frontend/onnx/export/export_rules.h"
#include "util/status_util.h"

namespace mixq::onnx_export {

namespace {

using W = GraphWriter;

// "add" -> "Add", "reciprocal" -> "Reciprocal".
std::string OnnxName(std::string op) {
  if (!op.empty()) op[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(op[0])));
  return op;
}

Status AllInputs(ExportContext& ctx, std::vector<std::string>* names) {
  names->assign(ctx.node().inputs.size(), "");
  for (size_t i = 0; i < names->size(); ++i) MIXQ_RETURN_IF_ERROR(ctx.Input(i, &(*names)[i]));
  return Status::OK();
}

Status ExportElementwise(ExportContext& ctx) {
  std::vector<std::string> in;
  MIXQ_RETURN_IF_ERROR(AllInputs(ctx, &in));
  ctx.w().AddNode(OnnxName(ctx.attrs().Str("op")), in, {ctx.Out(0)});
  return Status::OK();
}

Status ExportConcat(ExportContext& ctx) {
  std::vector<std::string> in;
  MIXQ_RETURN_IF_ERROR(AllInputs(ctx, &in));
  W::SetAttr(ctx.w().AddNode("Concat", in, {ctx.Out(0)}), "axis", ctx.attrs().Int("axis"));
  return Status::OK();
}

Status ExportSplit(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const auto sizes = ctx.attrs().Ints("sizes");
  std::vector<std::string> outs;
  for (size_t o = 0; o < ctx.node().outputs.size(); ++o) outs.push_back(ctx.Out(o));
  onnx::NodeProto* n = ctx.w().AddNode("Split", {x, sizes.empty() ? "" : ctx.w().AddInt64s(x + "_split", sizes)}, outs);
  if (sizes.empty()) W::SetAttr(n, "num_outputs", static_cast<int64_t>(outs.size()));
  W::SetAttr(n, "axis", ctx.attrs().Int("axis"));
  return Status::OK();
}

Status ExportSlice(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const ir::AttrMap& a = ctx.attrs();
  W& w = ctx.w();
  const auto axes = a.Ints("axes"), steps = a.Ints("steps");
  w.AddNode("Slice",
            {x, w.AddInt64s(x + "_starts", a.Ints("starts")), w.AddInt64s(x + "_ends", a.Ints("ends")),
             axes.empty() ? "" : w.AddInt64s(x + "_axes", axes), steps.empty() ? "" : w.AddInt64s(x + "_steps", steps)},
            {ctx.Out(0)});
  return Status::OK();
}

Status ExportReshape(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  onnx::NodeProto* n =
      ctx.w().AddNode("Reshape", {x, ctx.w().AddInt64s(x + "_shape", ctx.attrs().Ints("shape"))}, {ctx.Out(0)});
  W::SetAttr(n, "allowzero", ctx.attrs().Int("allowzero"));
  return Status::OK();
}

Status ExportFlatten(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  W::SetAttr(ctx.w().AddNode("Flatten", {x}, {ctx.Out(0)}), "axis", ctx.attrs().Int("axis"));
  return Status::OK();
}

Status ExportPermute(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  onnx::NodeProto* n = ctx.w().AddNode("Transpose", {x}, {ctx.Out(0)});
  if (!ctx.attrs().Ints("perm").empty()) W::SetAttr(n, "perm", ctx.attrs().Ints("perm"));
  return Status::OK();
}

// Squeeze / Unsqueeze / Reduce*: axes as an optional int64 input (opset 13+ / 18+).
Status ExportWithAxesInput(ExportContext& ctx, const std::string& op_type) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const auto axes = ctx.attrs().Ints("axes");
  std::vector<std::string> in = {x};
  if (!axes.empty()) in.push_back(ctx.w().AddInt64s(x + "_axes", axes));
  onnx::NodeProto* n = ctx.w().AddNode(op_type, in, {ctx.Out(0)});
  if (op_type.starts_with("Reduce")) W::SetAttr(n, "keepdims", ctx.attrs().Int("keep_dims"));
  return Status::OK();
}

Status ExportPad(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const ir::Value& v = *ctx.graph().value(ctx.node().inputs[0]);
  const float value = ctx.attrs().Float("value");
  std::string constant;
  if (v.dtype == DataType::FLOAT32) {
    constant = ctx.w().AddFloatScalar(x + "_value", value);
  } else if (v.dtype == DataType::INT64 || v.dtype == DataType::INT32) {
    const int64_t v64 = static_cast<int64_t>(value);
    const int32_t v32 = static_cast<int32_t>(value);
    constant = ctx.w().AddInitializer(x + "_value", v.dtype, {},
                                      v.dtype == DataType::INT64 ? static_cast<const void*>(&v64) : &v32);
  } else {
    return Unimplemented(ir::NodeLabel(ctx.graph(), ctx.node()), ": Pad of ", DataTypeName(v.dtype),
                         " has no export rule");
  }
  onnx::NodeProto* n =
      ctx.w().AddNode("Pad", {x, ctx.w().AddInt64s(x + "_pads", ctx.attrs().Ints("pads")), constant}, {ctx.Out(0)});
  W::SetAttr(n, "mode", ctx.attrs().Str("mode"));
  return Status::OK();
}

Status ExportResize(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const ir::AttrMap& a = ctx.attrs();
  W& w = ctx.w();
  const auto sizes = a.Ints("sizes");
  const auto scales = a.Floats("scales");
  std::string scales_name, sizes_name;
  if (!sizes.empty())
    sizes_name = w.AddInt64s(x + "_sizes", sizes);
  else
    scales_name =
        w.AddInitializer(x + "_scales", DataType::FLOAT32, {static_cast<int64_t>(scales.size())}, scales.data());
  onnx::NodeProto* n = w.AddNode("Resize", {x, "", scales_name, sizes_name}, {ctx.Out(0)});
  W::SetAttr(n, "mode", a.Str("mode"));
  W::SetAttr(n, "coordinate_transformation_mode", a.Str("coordinate_transformation_mode"));
  W::SetAttr(n, "nearest_mode", a.Str("nearest_mode"));
  return Status::OK();
}

Status ExportCast(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  DataType to;
  if (!ParseDataType(ctx.attrs().Str("to"), &to) || OnnxElementType(to) == 0)
    return InvalidArgument(ir::NodeLabel(ctx.graph(), ctx.node()), ": Cast to '", ctx.attrs().Str("to"),
                           "' has no ONNX type");
  W::SetAttr(ctx.w().AddNode("Cast", {x}, {ctx.Out(0)}), "to", static_cast<int64_t>(OnnxElementType(to)));
  return Status::OK();
}

Status ExportGather(ExportContext& ctx) {
  std::vector<std::string> in;
  MIXQ_RETURN_IF_ERROR(AllInputs(ctx, &in));
  W::SetAttr(ctx.w().AddNode("Gather", in, {ctx.Out(0)}), "axis", ctx.attrs().Int("axis"));
  return Status::OK();
}

// QuantizeLinear -> DequantizeLinear with the node's own parameters.
Status ExportFakeQuantize(ExportContext& ctx) {
  std::string x;
  MIXQ_RETURN_IF_ERROR(ctx.Input(0, &x));
  const ir::AttrMap& a = ctx.attrs();
  const auto scales = a.Floats("scales");
  const auto zeros = a.Ints("zero_points");
  const int64_t axis = a.Int("axis");
  const std::vector<int64_t> dims =
      axis >= 0 ? std::vector<int64_t>{static_cast<int64_t>(scales.size())} : std::vector<int64_t>{};
  W& w = ctx.w();
  const std::string scale = w.AddInitializer(ctx.Out(0) + "_scale", DataType::FLOAT32, dims, scales.data());
  std::string zero;
  if (a.Int("bits") == 8) {
    std::vector<int8_t> z(zeros.begin(), zeros.end());
    zero = w.AddInitializer(ctx.Out(0) + "_zero_point", DataType::INT8, dims, z.data());
  } else {
    std::vector<int16_t> z(zeros.begin(), zeros.end());
    zero = w.AddInitializer(ctx.Out(0) + "_zero_point", DataType::INT16, dims, z.data());
  }
  onnx::NodeProto* q = nullptr;
  const std::string quantized = w.AddNode1("QuantizeLinear", {x, scale, zero}, ctx.Out(0) + "_q", &q);
  onnx::NodeProto* dq = w.AddNode("DequantizeLinear", {quantized, scale, zero}, {ctx.Out(0)});
  if (axis >= 0) {
    W::SetAttr(q, "axis", axis);
    W::SetAttr(dq, "axis", axis);
  }
  return Status::OK();
}

}  // namespace

void AddTensorRules(ExportRule* t) {
  auto at = [t](OpKind k) -> ExportRule& { return t[static_cast<size_t>(k)]; };
  at(OpKind::kElementwise) = ExportElementwise;
  at(OpKind::kUnary) = ExportElementwise;  // same shape: the op name is the ONNX op
  at(OpKind::kConcat) = ExportConcat;
  at(OpKind::kSplit) = ExportSplit;
  at(OpKind::kSlice) = ExportSlice;
  at(OpKind::kReshape) = ExportReshape;
  at(OpKind::kFlatten) = ExportFlatten;
  at(OpKind::kPermute) = ExportPermute;
  at(OpKind::kSqueeze) = [](ExportContext& c) { return ExportWithAxesInput(c, "Squeeze"); };
  at(OpKind::kUnsqueeze) = [](ExportContext& c) { return ExportWithAxesInput(c, "Unsqueeze"); };
  at(OpKind::kReduce) = [](ExportContext& c) {
    return ExportWithAxesInput(c, "Reduce" + OnnxName(c.attrs().Str("op")));
  };
  at(OpKind::kPad) = ExportPad;
  at(OpKind::kResize) = ExportResize;
  at(OpKind::kCast) = ExportCast;
  at(OpKind::kGather) = ExportGather;
  at(OpKind::kFakeQuantize) = ExportFakeQuantize;
}

}  // namespace mixq::onnx_export
