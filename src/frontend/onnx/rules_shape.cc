// Ops that move elements without arithmetic: Reshape, Flatten, Transpose,
// Squeeze, Unsqueeze, Concat, Split, Slice, Gather. Each also folds at import
// time, which is what resolves shape-computation subgraphs.
#include <algorithm>
#include <limits>

#include "frontend/onnx/fold_util.h"
#include "frontend/onnx/rules.h"
#include "util/status_util.h"

// GCC 12 reports a false -Wfree-nonheap-object inside std::vector when it
// inlines FoldSlice (the vectors are ordinary heap vectors).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif

namespace mixq::onnx_import {

namespace {

std::vector<int64_t> Strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

// Calls fn(flat_output_index, multi_index) for every element of `dims`.
template <typename Fn>
void ForEachIndex(const std::vector<int64_t>& dims, Fn fn) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    fn(idx);
    for (size_t i = dims.size(); i-- > 0;) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
}

// Same elements under new dims.
FoldValue WithDims(const FoldValue& v, std::vector<int64_t> dims) {
  FoldValue out = v;
  out.dims = std::move(dims);
  return out;
}

// --- Reshape

// ONNX Reshape target -> dims; works on known data dims (for folding).
Status ReshapeDims(const std::vector<int64_t>& in, const std::vector<int64_t>& shape, bool allowzero,
                   std::vector<int64_t>* out) {
  int64_t count = 1, known = 1;
  for (int64_t d : in) count *= d;
  int infer = -1;
  out->assign(shape.begin(), shape.end());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= in.size()) return InvalidArgument("'shape' copies dim ", i, " which the input lacks");
      (*out)[i] = in[i];
    } else if (shape[i] == -1) {
      if (infer >= 0) return InvalidArgument("'shape' ", Dims(shape).ToString(), " has more than one -1");
      infer = static_cast<int>(i);
      continue;
    } else if (shape[i] < -1) {
      return InvalidArgument("'shape' ", Dims(shape).ToString(), " holds a value below -1");
    }
    if (__builtin_mul_overflow(known, (*out)[i], &known))
      return InvalidArgument("'shape' ", Dims(shape).ToString(), " holds more elements than an int64 can count");
  }
  if (infer >= 0) {
    if (known == 0 || count % known != 0)
      return InvalidArgument("cannot reshape ", Dims(in).ToString(), " to ", Dims(shape).ToString());
    (*out)[static_cast<size_t>(infer)] = count / known;
  } else if (known != count) {
    return InvalidArgument("cannot reshape ", Dims(in).ToString(), " to ", Dims(shape).ToString());
  }
  return Status::OK();
}

Status FoldReshape(NodeContext& ctx) {
  std::vector<int64_t> shape, dims;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "shape", &shape));
  int64_t allowzero = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("allowzero", 0, &allowzero));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  MIXQ_RETURN_IF_ERROR(ReshapeDims(x.dims, shape, allowzero != 0, &dims));
  return ctx.SetConstOutput(0, WithDims(x, dims));
}

// The target may hold dims only known at run time (from Shape over a dynamic
// input): one that is dim i of the reshaped tensor itself at position i is a
// copy (0); one more unknown becomes the inferred -1.
Status MapReshape(NodeContext& ctx) {
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  if (!ctx.HasInput(1)) return InvalidArgument("input 1 ('shape') is missing");
  const FoldValue* shape = ctx.Constant(1);
  if (!shape)
    return Unimplemented("input 1 ('shape') '", ctx.InputName(1),
                         "' must be a constant or computable from dims at import; it is computed at run time");
  if (!shape->IsInt() || shape->dims.size() != 1)
    return InvalidArgument("input 1 ('shape') must be a 1-D integer tensor");
  int64_t allowzero = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("allowzero", 0, &allowzero));
  std::vector<int64_t> target;
  int inferred = 0;
  for (size_t i = 0; i < shape->ints.size(); ++i) {
    const SymInt& v = shape->ints[i];
    if (v.known) {
      if (v.value == -1) ++inferred;
      target.push_back(v.value);
    } else if (!allowzero && v.source == x && v.axis == static_cast<int64_t>(i)) {
      target.push_back(0);
    } else {
      ++inferred;
      target.push_back(-1);
    }
  }
  if (inferred > 1)
    return Unimplemented("the target shape has ", inferred,
                         " dims only known at run time; at most one can be inferred (fix the input shape with "
                         "SetInputShape)");
  IReshapeNode* node = ctx.network()->AddIReshapeNode(x, Dims(target));
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  if (allowzero) MIXQ_RETURN_IF_ERROR(node->SetAttr("allowzero", int64_t{1}));
  return ctx.Bind(node);
}

// --- Flatten

Status FoldFlatten(NodeContext& ctx) {
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  int64_t axis = 1;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 1, &axis));
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return InvalidArgument("attribute 'axis' is out of range for rank ", rank);
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= x.dims[static_cast<size_t>(i)];
  return ctx.SetConstOutput(0, WithDims(x, {rows, cols}));
}

Status MapFlatten(NodeContext& ctx) {
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  int64_t axis = 1;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 1, &axis));
  IFlattenNode* node = ctx.network()->AddIFlattenNode(x, axis);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- Transpose

Status ReadPerm(NodeContext& ctx, int64_t rank, std::vector<int64_t>* perm) {
  MIXQ_RETURN_IF_ERROR(ctx.AttrInts("perm", {}, perm));
  if (perm->empty())
    for (int64_t i = rank - 1; i >= 0; --i) perm->push_back(i);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  if (static_cast<int64_t>(perm->size()) != rank)
    return InvalidArgument("attribute 'perm' must have ", rank, " values");
  for (int64_t p : *perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
      return InvalidArgument("attribute 'perm' ", Dims(*perm).ToString(), " is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return Status::OK();
}

Status FoldTranspose(NodeContext& ctx) {
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  std::vector<int64_t> perm;
  MIXQ_RETURN_IF_ERROR(ReadPerm(ctx, static_cast<int64_t>(x.dims.size()), &perm));
  std::vector<int64_t> dims;
  for (int64_t p : perm) dims.push_back(x.dims[static_cast<size_t>(p)]);
  const auto in_strides = Strides(x.dims);
  std::vector<int64_t> indices;
  ForEachIndex(dims, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t i = 0; i < idx.size(); ++i) src += idx[i] * in_strides[static_cast<size_t>(perm[i])];
    indices.push_back(src);
  });
  return ctx.SetConstOutput(0, TakeElements(x, indices, dims));
}

Status MapTranspose(NodeContext& ctx) {
  int64_t rank = 0;
  MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
  std::vector<int64_t> perm;
  MIXQ_RETURN_IF_ERROR(ReadPerm(ctx, rank, &perm));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IPermuteNode* node = ctx.network()->AddIPermuteNode(x, perm);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- Squeeze / Unsqueeze: axes are an attribute before opset 13, an input after.

Status ReadAxes(NodeContext& ctx, bool required, std::vector<int64_t>* axes) {
  if (ctx.opset() < 13) {
    MIXQ_RETURN_IF_ERROR(ctx.AttrInts("axes", {}, axes));
    if (required && !ctx.HasAttr("axes")) return InvalidArgument("attribute 'axes' is required");
    return Status::OK();
  }
  axes->clear();
  if (!ctx.HasInput(1)) {
    if (required) return InvalidArgument("input 1 ('axes') is required");
    return Status::OK();
  }
  return ctx.ConstInts(1, "axes", axes);
}

Status SqueezedDims(const std::vector<int64_t>& in, std::vector<int64_t> axes, std::vector<int64_t>* out) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  for (int64_t& a : axes) {
    MIXQ_RETURN_IF_ERROR(NormalizeAxis(a, rank, "axis", &a));
    if (in[static_cast<size_t>(a)] != 1) return InvalidArgument("cannot squeeze axis ", a, " of ", Dims(in).ToString());
    drop[static_cast<size_t>(a)] = true;
  }
  out->clear();
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out->push_back(in[i]);
  return Status::OK();
}

Status FoldSqueeze(NodeContext& ctx) {
  std::vector<int64_t> axes, dims;
  MIXQ_RETURN_IF_ERROR(ReadAxes(ctx, false, &axes));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  MIXQ_RETURN_IF_ERROR(SqueezedDims(x.dims, axes, &dims));
  return ctx.SetConstOutput(0, WithDims(x, dims));
}

Status MapSqueeze(NodeContext& ctx) {
  std::vector<int64_t> axes;
  MIXQ_RETURN_IF_ERROR(ReadAxes(ctx, false, &axes));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  ISqueezeNode* node = ctx.network()->AddISqueezeNode(x, axes);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

Status FoldUnsqueeze(NodeContext& ctx) {
  std::vector<int64_t> axes;
  MIXQ_RETURN_IF_ERROR(ReadAxes(ctx, true, &axes));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  const int64_t rank = static_cast<int64_t>(x.dims.size() + axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    MIXQ_RETURN_IF_ERROR(NormalizeAxis(a, rank, "axis", &a));
    if (inserted[static_cast<size_t>(a)]) return InvalidArgument("axis ", a, " is repeated");
    inserted[static_cast<size_t>(a)] = true;
  }
  std::vector<int64_t> dims;
  size_t k = 0;
  for (int64_t i = 0; i < rank; ++i) dims.push_back(inserted[static_cast<size_t>(i)] ? 1 : x.dims[k++]);
  return ctx.SetConstOutput(0, WithDims(x, dims));
}

Status MapUnsqueeze(NodeContext& ctx) {
  std::vector<int64_t> axes;
  MIXQ_RETURN_IF_ERROR(ReadAxes(ctx, true, &axes));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IUnsqueezeNode* node = ctx.network()->AddIUnsqueezeNode(x, axes);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- Concat

Status FoldConcat(NodeContext& ctx) {
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 0, &axis));
  if (ctx.InputCount() < 1) return InvalidArgument("needs at least one input");
  const FoldValue* first_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &first_value));
  const FoldValue& first = *first_value;
  const int64_t rank = static_cast<int64_t>(first.dims.size());
  MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "attribute 'axis'", &axis));
  std::vector<const FoldValue*> parts;
  std::vector<int64_t> dims = first.dims;
  dims[static_cast<size_t>(axis)] = 0;
  for (int i = 0; i < ctx.InputCount(); ++i) {
    const FoldValue* v = ctx.Constant(i);
    if (!v) return InvalidArgument("input ", i, " is missing");
    if (v->dtype != first.dtype || v->dims.size() != first.dims.size())
      return InvalidArgument("input ", i, " differs in type or rank from input 0");
    for (size_t d = 0; d < dims.size(); ++d)
      if (static_cast<int64_t>(d) != axis && v->dims[d] != first.dims[d])
        return InvalidArgument("input ", i, " dims ", Dims(v->dims).ToString(), " do not match ",
                               Dims(first.dims).ToString());
    dims[static_cast<size_t>(axis)] += v->dims[static_cast<size_t>(axis)];
    parts.push_back(v);
  }
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, "result"));
  // Concatenate as a gather over a virtual stacked input.
  FoldValue out;
  out.dtype = first.dtype;
  out.dims = dims;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[static_cast<size_t>(d)];
  for (int64_t o = 0; o < outer; ++o) {
    for (const FoldValue* p : parts) {
      const int64_t block = p->dims[static_cast<size_t>(axis)] * inner;
      std::vector<int64_t> idx;
      for (int64_t k = 0; k < block; ++k) idx.push_back(o * block + k);
      FoldValue piece = TakeElements(*p, idx, {block});
      out.ints.insert(out.ints.end(), piece.ints.begin(), piece.ints.end());
      out.floats.insert(out.floats.end(), piece.floats.begin(), piece.floats.end());
      out.raw.insert(out.raw.end(), piece.raw.begin(), piece.raw.end());
    }
  }
  return ctx.SetConstOutput(0, std::move(out));
}

Status MapConcat(NodeContext& ctx) {
  int64_t axis = 0;
  if (!ctx.HasAttr("axis")) return InvalidArgument("attribute 'axis' is required");
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 0, &axis));
  std::vector<ITensor*> inputs;
  for (int i = 0; i < ctx.InputCount(); ++i) {
    ITensor* t = nullptr;
    MIXQ_RETURN_IF_ERROR(ctx.Tensor(i, &t));
    inputs.push_back(t);
  }
  IConcatNode* node = ctx.network()->AddIConcatNode(inputs, axis);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- Split: sizes from the 'split' attribute (< 13) or input (>= 13), else
// equal pieces (num_outputs from opset 18, ceil-sized with a smaller last one).

Status MapSplit(NodeContext& ctx) {
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 0, &axis));
  std::vector<int64_t> sizes;
  if (ctx.opset() < 13) {
    MIXQ_RETURN_IF_ERROR(ctx.AttrInts("split", {}, &sizes));
  } else if (ctx.HasInput(1)) {
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "split", &sizes));
  }
  const int outputs = ctx.OutputCount();
  if (outputs < 1) return InvalidArgument("needs at least one output");
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  bool equal_dynamic = false;
  if (sizes.empty()) {
    Dims dims = x->GetDimension();
    int64_t a = 0;
    MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, dims.GetDimsNum(), "attribute 'axis'", &a));
    const int64_t extent = dims[static_cast<size_t>(a)];
    if (ctx.HasAttr("num_outputs") && extent >= 0) {
      const int64_t chunk = (extent + outputs - 1) / outputs;
      for (int i = 0; i < outputs; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, extent - i * chunk)));
    } else {
      if (extent >= 0 && extent % outputs != 0)
        return InvalidArgument("axis ", a, " of extent ", extent, " cannot be split into ", outputs, " equal parts");
      equal_dynamic = extent < 0;
      sizes.assign(static_cast<size_t>(outputs), extent < 0 ? 1 : extent / outputs);
    }
  }
  if (static_cast<int>(sizes.size()) != outputs)
    return InvalidArgument("'split' has ", sizes.size(), " sizes for ", outputs, " outputs");
  ISplitNode* node = ctx.network()->AddISplitNode(x, axis, sizes);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  // Equal pieces of a dim only known at run time: mixq's empty 'sizes'.
  if (equal_dynamic) MIXQ_RETURN_IF_ERROR(node->SetAttr("sizes", std::vector<int64_t>{}));
  return ctx.Bind(node);
}

// --- Slice (opset >= 10: starts, ends, axes, steps are inputs)

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

Status ReadSliceArgs(NodeContext& ctx, SliceArgs* s) {
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "starts", &s->starts));
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(2, "ends", &s->ends));
  if (ctx.HasInput(3)) MIXQ_RETURN_IF_ERROR(ctx.ConstInts(3, "axes", &s->axes));
  if (ctx.HasInput(4)) MIXQ_RETURN_IF_ERROR(ctx.ConstInts(4, "steps", &s->steps));
  if (s->starts.size() != s->ends.size() || (!s->axes.empty() && s->axes.size() != s->starts.size()) ||
      (!s->steps.empty() && s->steps.size() != s->starts.size()))
    return InvalidArgument("starts, ends, axes and steps must have the same length");
  return Status::OK();
}

Status FoldSlice(NodeContext& ctx) {
  SliceArgs s;
  MIXQ_RETURN_IF_ERROR(ReadSliceArgs(ctx, &s));
  const FoldValue* x_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &x_value));
  const FoldValue& x = *x_value;
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  std::vector<int64_t> start(x.dims.size(), 0), step(x.dims.size(), 1), dims = x.dims;
  std::vector<bool> seen(x.dims.size(), false);
  for (size_t k = 0; k < s.starts.size(); ++k) {
    int64_t a = s.axes.empty() ? static_cast<int64_t>(k) : s.axes[k];
    MIXQ_RETURN_IF_ERROR(NormalizeAxis(a, rank, "axis", &a));
    if (seen[static_cast<size_t>(a)]) return InvalidArgument("axis ", a, " is repeated");
    seen[static_cast<size_t>(a)] = true;
    const int64_t n = x.dims[static_cast<size_t>(a)];
    const int64_t st = s.steps.empty() ? 1 : s.steps[k];
    if (st == 0) return InvalidArgument("'steps' must be nonzero");
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(v, hi)); };
    int64_t b = s.starts[k], e = s.ends[k];
    if (b < 0) b = b < -n ? -1 : b + n;  // avoid overflow on INT64_MIN
    if (e < 0) e = e < -n ? -1 : e + n;
    if (st > 0) {
      b = clampi(b, 0, n);
      e = clampi(e, 0, n);
    } else {
      b = clampi(b, -1, n - 1);
      e = clampi(e, -1, n - 1);
    }
    // b and e lie in [-1, n], so only the step can overflow.
    int64_t count = 0;
    if (st > 0 && e > b) count = (e - b - 1) / st + 1;
    if (st < 0 && b > e) count = st == std::numeric_limits<int64_t>::min() ? 1 : (b - e - 1) / (-st) + 1;
    start[static_cast<size_t>(a)] = b;
    step[static_cast<size_t>(a)] = st;
    dims[static_cast<size_t>(a)] = count;
  }
  const auto in_strides = Strides(x.dims);
  std::vector<int64_t> indices;
  ForEachIndex(dims, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t i = 0; i < idx.size(); ++i) src += (start[i] + idx[i] * step[i]) * in_strides[i];
    indices.push_back(src);
  });
  return ctx.SetConstOutput(0, TakeElements(x, indices, dims));
}

Status MapSlice(NodeContext& ctx) {
  SliceArgs s;
  MIXQ_RETURN_IF_ERROR(ReadSliceArgs(ctx, &s));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  ISliceNode* node = ctx.network()->AddISliceNode(x, s.starts, s.ends, s.axes, s.steps);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

// --- Gather

Status FoldGather(NodeContext& ctx) {
  const FoldValue* data_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(0, &data_value));
  const FoldValue& data = *data_value;
  std::vector<int64_t> indices;
  MIXQ_RETURN_IF_ERROR(ctx.ConstInts(1, "indices", &indices));
  const FoldValue* index_value = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.KnownInput(1, &index_value));
  const std::vector<int64_t>& index_dims = index_value->dims;
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 0, &axis));
  const int64_t rank = static_cast<int64_t>(data.dims.size());
  MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "attribute 'axis'", &axis));
  const int64_t n = data.dims[static_cast<size_t>(axis)];
  for (int64_t& i : indices) {
    if (i < -n || i >= n) return InvalidArgument("index ", i, " is out of range for axis ", axis, " of extent ", n);
    if (i < 0) i += n;
  }
  std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + axis);
  dims.insert(dims.end(), index_dims.begin(), index_dims.end());
  dims.insert(dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  MIXQ_RETURN_IF_ERROR(CheckDims(dims, "result"));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.dims[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[static_cast<size_t>(d)];
  std::vector<int64_t> src;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : indices)
      for (int64_t k = 0; k < inner; ++k) src.push_back((o * n + i) * inner + k);
  return ctx.SetConstOutput(0, TakeElements(data, src, dims));
}

Status MapGather(NodeContext& ctx) {
  int64_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 0, &axis));
  ITensor *data = nullptr, *indices = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &data));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &indices));
  IGatherNode* node = ctx.network()->AddIGatherNode(data, indices, axis);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

}  // namespace

void AddShapeRules(std::vector<Rule>* rules) {
  rules->insert(rules->end(),
                {
                    {"Reshape", MapReshape, FoldReshape, "1", "Reshape",
                     "'shape' must be constant or computable at import (at most one dim only known at run time)"},
                    {"Flatten", MapFlatten, FoldFlatten, "", "Flatten", ""},
                    {"Transpose", MapTranspose, FoldTranspose, "", "Permute", ""},
                    {"Squeeze", MapSqueeze, FoldSqueeze, "1", "Squeeze", "'axes' must be constant"},
                    {"Unsqueeze", MapUnsqueeze, FoldUnsqueeze, "1", "Unsqueeze", "'axes' must be constant"},
                    {"Concat", MapConcat, FoldConcat, "", "Concat", ""},
                    {"Split", MapSplit, nullptr, "1", "Split", "'split' must be constant"},
                    {"Slice", MapSlice, FoldSlice, "1,2,3,4", "Slice", "starts / ends / axes / steps must be constant"},
                    {"Gather", MapGather, FoldGather, "", "Gather", ""},
                });
}

}  // namespace mixq::onnx_import
