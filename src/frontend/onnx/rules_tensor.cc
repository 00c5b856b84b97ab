// Shape and constant sources (Shape, Size, Constant, ConstantOfShape, Range,
// Equal, Where — folded at import time only), pass-throughs (Identity,
// Dropout), Cast, Expand, Pad, Resize and Upsample.
#include <cmath>
#include <cstring>
#include <limits>

#include "frontend/onnx/fold_util.h"
#include "frontend/onnx/rules.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

// Shape (start / end from opset 15): dims only known at run time become
// unknown elements that remember their tensor and axis.
Status FoldShape(NodeContext& ctx) {
  Dims dims;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &dims));
  ITensor* source = nullptr;
  if (!ctx.Constant(0)) MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &source));
  const int64_t rank = dims.GetDimsNum();
  int64_t start = 0, end = rank;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("start", 0, &start));
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("end", rank, &end));
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::max<int64_t>(0, std::min(start, rank));
  end = std::max<int64_t>(start, std::min(end, rank));
  std::vector<SymInt> values;
  for (int64_t i = start; i < end; ++i) {
    const int64_t d = dims.GetDimValue(i);
    values.push_back(d >= 0 ? SymInt::Known(d) : SymInt::Unknown(source, i));
  }
  const int64_t n = static_cast<int64_t>(values.size());
  return ctx.SetConstOutput(0, FoldValue::FromSym(DataType::INT64, {n}, std::move(values)));
}

Status FoldSize(NodeContext& ctx) {
  Dims dims;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &dims));
  const int64_t count = dims.GetElementCount();
  return ctx.SetConstOutput(
      0, FoldValue::FromSym(DataType::INT64, {}, {count >= 0 ? SymInt::Known(count) : SymInt::Unknown()}));
}

Status FoldConstant(NodeContext& ctx) {
  if (ctx.node().attribute_size() != 1) return InvalidArgument("needs exactly one attribute");
  const auto& attr = ctx.node().attribute(0);
  FoldValue v;
  if (attr.name() == "value") {
    MIXQ_RETURN_IF_ERROR(ctx.AttrTensor("value", &v));
  } else if (attr.name() == "value_float") {
    float f = 0;
    MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("value_float", 0, &f));
    v = FoldValue::FromFloats({}, {f});
  } else if (attr.name() == "value_floats") {
    std::vector<float> f;
    MIXQ_RETURN_IF_ERROR(ctx.AttrFloats("value_floats", {}, &f));
    v = FoldValue::FromFloats({static_cast<int64_t>(f.size())}, f);
  } else if (attr.name() == "value_int") {
    int64_t i = 0;
    MIXQ_RETURN_IF_ERROR(ctx.AttrInt("value_int", 0, &i));
    v = FoldValue::FromInts(DataType::INT64, {}, {i});
  } else if (attr.name() == "value_ints") {
    std::vector<int64_t> i;
    MIXQ_RETURN_IF_ERROR(ctx.AttrInts("value_ints", {}, &i));
    v = FoldValue::FromInts(DataType::INT64, {static_cast<int64_t>(i.size())}, i);
  } else {
    return Unimplemented("attribute '", attr.name(), "' is not supported (sparse / string constants)");
  }
  return ctx.SetConstOutput(0, std::move(v));
}

Status FoldConstantOfShape(NodeContext& ctx) {
  std::vector<int64_t> dims;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(0, "shape", &dims));
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, "output"));
  FoldValue fill = FoldValue::FromFloats({1}, {0.0f});
  if (ctx.HasAttr("value")) MIXQ_RETURN_IF_ERROR(ctx.AttrTensor("value", &fill));
  if (fill.ElementCount() != 1) return InvalidArgument("attribute 'value' must hold one element");
  std::vector<int64_t> zeros(static_cast<size_t>(Dims(dims).GetElementCount()), 0);
  return ctx.SetConstOutput(0, TakeElements(fill, zeros, dims));
}

Status FoldRange(NodeContext& ctx) {
  std::vector<float> start, limit, delta;
  MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(0, "start", &start));
  MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(1, "limit", &limit));
  MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(2, "delta", &delta));
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) return InvalidArgument("inputs must be scalars");
  const FoldValue* s_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &s_value));
  const FoldValue& s = *s_value;
  if (s.IsInt()) {
    std::vector<int64_t> a, b, d;
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(0, "start", &a));
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "limit", &b));
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(2, "delta", &d));
    if (d[0] == 0) return InvalidArgument("'delta' must be nonzero");
    const double n = std::ceil((static_cast<double>(b[0]) - static_cast<double>(a[0])) / static_cast<double>(d[0]));
    if (n > static_cast<double>(kMaxElements)) return InvalidArgument("the range holds too many elements");
    std::vector<int64_t> values;
    for (int64_t i = 0; i < static_cast<int64_t>(std::max(0.0, n)); ++i) values.push_back(a[0] + i * d[0]);
    return ctx.SetConstOutput(0, FoldValue::FromInts(s.dtype, {static_cast<int64_t>(values.size())}, values));
  }
  if (delta[0] == 0 || !std::isfinite(start[0]) || !std::isfinite(limit[0]))
    return InvalidArgument("'delta' must be nonzero and the bounds finite");
  const double n = std::ceil((static_cast<double>(limit[0]) - start[0]) / delta[0]);
  if (n > static_cast<double>(kMaxElements)) return InvalidArgument("the range holds too many elements");
  std::vector<float> values;
  for (int64_t i = 0; i < static_cast<int64_t>(std::max(0.0, n)); ++i)
    values.push_back(start[0] + static_cast<float>(i) * delta[0]);
  const int64_t count = static_cast<int64_t>(values.size());
  return ctx.SetConstOutput(0, FoldValue::FromFloats({count}, std::move(values)));
}

Status FoldEqual(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.RequireKnownInputs());
  if (ctx.InputCount() != 2) return InvalidArgument("needs 2 inputs");
  const FoldValue *a = nullptr, *b = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &a));
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(1, &b));
  FoldValue out;
  MIXQ_RETURN_IF_ERROR(FoldBinary(
      *a, *b, [](int64_t x, int64_t y) -> int64_t { return x == y; },
      [](float x, float y) { return x == y ? 1.0f : 0.0f; }, &out));
  if (out.IsFloat()) {  // the result is BOOL either way
    std::vector<int64_t> bits;
    for (float f : out.floats) bits.push_back(f != 0.0f);
    out = FoldValue::FromInts(DataType::BOOL, out.dims, bits);
  }
  out.dtype = DataType::BOOL;
  return ctx.SetConstOutput(0, std::move(out));
}

Status FoldWhere(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.RequireKnownInputs());
  if (ctx.InputCount() != 3) return InvalidArgument("needs 3 inputs");
  const FoldValue *c = nullptr, *x = nullptr, *y = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &c));
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(1, &x));
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(2, &y));
  if (!c->IsInt()) return InvalidArgument("input 0 ('condition') must be BOOL");
  if (x->dtype != y->dtype) return InvalidArgument("inputs 1 and 2 have different types");
  std::vector<int64_t> dims, d2;
  if (!BroadcastDims(c->dims, x->dims, &d2) || !BroadcastDims(d2, y->dims, &dims))
    return InvalidArgument("inputs do not broadcast");
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, "result"));
  const auto ic = BroadcastSourceIndex(c->dims, dims), ix = BroadcastSourceIndex(x->dims, dims),
             iy = BroadcastSourceIndex(y->dims, dims);
  FoldValue out = TakeElements(*x, ix, dims), from_y = TakeElements(*y, iy, dims);
  for (size_t k = 0; k < ic.size(); ++k) {
    const SymInt& cond = c->ints[static_cast<size_t>(ic[k])];
    if (!cond.known) return InvalidArgument("input 0 ('condition') is only known at run time");
    if (cond.value) continue;
    if (out.IsInt()) out.ints[k] = from_y.ints[k];
    if (out.IsFloat()) out.floats[k] = from_y.floats[k];
  }
  if (!out.IsInt() && !out.IsFloat()) return Unimplemented("folding over ", DataTypeName(out.dtype), " values");
  return ctx.SetConstOutput(0, std::move(out));
}

// Identity and Dropout (inference): the output is the input.
Status MapIdentity(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputsAtMost(1));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  return ctx.SetOutput(0, x);
}

Status FoldIdentity(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputsAtMost(1));
  const FoldValue* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x));
  return ctx.SetConstOutput(0, *x);
}

Status MapDropout(NodeContext& ctx) {
  if (ctx.HasInput(2)) {  // training_mode
    std::vector<int64_t> training;
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(2, "training_mode", &training));
    if (training.size() == 1 && training[0] != 0) return Unimplemented("training_mode = true is not supported");
  }
  return MapIdentity(ctx);
}

Status ReadCastTarget(NodeContext& ctx, DataType* to) {
  int64_t onnx_to = 0;
  if (!ctx.HasAttr("to")) return InvalidArgument("attribute 'to' is required");
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("to", 0, &onnx_to));
  if (onnx_to < 0 || onnx_to > 64 || !FromOnnxType(static_cast<int32_t>(onnx_to), to))
    return Unimplemented("attribute 'to' = ", OnnxTypeName(static_cast<int32_t>(onnx_to)), " is not supported");
  return Status::OK();
}

Status MapCast(NodeContext& ctx) {
  DataType to;
  MIXQ_RETURN_IF_ERROR(ReadCastTarget(ctx, &to));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  ICastNode* node = ctx.network()->AddICastNode(x, to);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// Folds casts between integer types and FLOAT32 (shape arithmetic); other
// types are left to the Cast node.
Status FoldCast(NodeContext& ctx) {
  DataType to;
  MIXQ_RETURN_IF_ERROR(ReadCastTarget(ctx, &to));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  const bool to_int = IsIntegerType(to);
  if ((!x.IsInt() && !x.IsFloat()) || (!to_int && to != DataType::FLOAT32)) return MapCast(ctx);
  FoldValue out;
  out.dtype = to;
  out.dims = x.dims;
  const int bits = static_cast<int>(8 * DataTypeSize(to));
  auto narrow = [&](int64_t v) -> int64_t {
    if (to == DataType::BOOL) return v != 0;
    if (bits >= 64) return v;
    const uint64_t mask = (uint64_t{1} << bits) - 1;
    uint64_t u = static_cast<uint64_t>(v) & mask;
    if (to != DataType::UINT8 && (u >> (bits - 1))) u |= ~mask;  // sign-extend
    return static_cast<int64_t>(u);
  };
  if (x.IsInt()) {
    for (const SymInt& v : x.ints) {
      if (to_int) {
        out.ints.push_back(v.known ? SymInt::Known(narrow(v.value)) : v);
      } else {
        if (!v.known) return MapCast(ctx);
        out.floats.push_back(static_cast<float>(v.value));
      }
    }
  } else {
    for (float f : x.floats) {
      if (!to_int) {
        out.floats.push_back(f);
      } else if (to == DataType::BOOL) {
        out.ints.push_back(SymInt::Known(f != 0.0f));
      } else {
        // Out-of-range and NaN casts are undefined in ONNX: leave them to the kernel.
        if (!(std::fabs(f) < 9.2e18f)) return MapCast(ctx);
        out.ints.push_back(SymInt::Known(narrow(static_cast<int64_t>(f))));
      }
    }
  }
  return ctx.SetConstOutput(0, std::move(out));
}

// Expand: broadcast to a constant shape, done as a multiply by ones.
Status ExpandedDims(NodeContext& ctx, std::vector<int64_t>* dims) {
  std::vector<int64_t> shape;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "shape", &shape));
  Dims in;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &in));
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("'shape' ", Dims(shape).ToString(), " holds a negative dim");
  if (!BroadcastDims(in.GetDims(), shape, dims))
    return InvalidArgument("input dims ", in.ToString(), " do not broadcast to ", Dims(shape).ToString());
  return CheckDims(*dims, "output");
}

Status FoldExpand(NodeContext& ctx) {
  std::vector<int64_t> dims;
  MIXQ_RETURN_IF_ERROR(ExpandedDims(ctx, &dims));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  return ctx.SetConstOutput(0, TakeElements(x, BroadcastSourceIndex(x.dims, dims), dims));
}

Status MapExpand(NodeContext& ctx) {
  std::vector<int64_t> dims, shape;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "shape", &shape));
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("'shape' ", Dims(shape).ToString(), " holds a negative dim");
  MIXQ_RETURN_IF_ERROR(CheckDims(shape, "'shape'"));
  DataType type;
  MIXQ_RETURN_IF_ERROR(ctx.InputType(0, &type));
  FoldValue ones;
  if (type == DataType::FLOAT32) {
    ones = FoldValue::FromFloats(shape, std::vector<float>(static_cast<size_t>(Dims(shape).GetElementCount()), 1.0f));
  } else if (type == DataType::INT32 || type == DataType::INT64) {
    ones =
        FoldValue::FromInts(type, shape, std::vector<int64_t>(static_cast<size_t>(Dims(shape).GetElementCount()), 1));
  } else {
    return Unimplemented("Expand of ", DataTypeName(type), " is not supported (FLOAT32, INT32, INT64)");
  }
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  const std::vector<uint8_t> bytes = ones.Bytes();
  IConstNode* c = ctx.network()->AddIConstNode(type, Dims(shape), bytes.data());
  MIXQ_RETURN_IF_ERROR(ctx.Added(c));
  MIXQ_RETURN_IF_ERROR(ctx.NameHelper(c, "ones"));
  IElementwiseNode* node = ctx.network()->AddIElementwiseNode(x, c->GetOutput(0), ElementwiseOp::MUL);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

}  // namespace

void AddTensorRules(std::vector<Rule>* rules) {
  rules->insert(
      rules->end(),
      {
          {"Shape", nullptr, FoldShape, "dims", "(folded)",
           "folded at import; dims only known at run time stay symbolic"},
          {"Size", nullptr, FoldSize, "dims", "(folded)", "folded at import; needs static dims"},
          {"Constant", nullptr, FoldConstant, "", "(folded) / Constant", "no sparse or string values"},
          {"ConstantOfShape", nullptr, FoldConstantOfShape, "0", "(folded) / Constant",
           "'input' must be computable at import"},
          {"Range", nullptr, FoldRange, "0,1,2", "(folded) / Constant", "inputs must be computable at import"},
          {"Equal", nullptr, FoldEqual, "", "(folded)", "only inside shape computations (inputs known at import)"},
          {"Where", nullptr, FoldWhere, "", "(folded)", "only inside shape computations (inputs known at import)"},
          {"Identity", MapIdentity, FoldIdentity, "", "(aliased)", ""},
          {"Dropout", MapDropout, FoldIdentity, "1,2", "(aliased)", "inference only; no mask output"},
          {"Cast", MapCast, FoldCast, "", "Cast", "types mixq has (no DOUBLE, STRING, UINT16/32/64, FLOAT8)"},
          {"Expand", MapExpand, FoldExpand, "1", "Elementwise mul by ones",
           "'shape' must be constant; FLOAT32 / INT32 / INT64"},
      });
}

}  // namespace mixq::onnx_import
