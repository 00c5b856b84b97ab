// Resize: ONNX Resize (opset 13+) with scales or sizes as attributes, over
// every axis; nearest or n-linear, the four common coordinate transforms.
#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "ops/op_util.h"
#include "ops/resize/cpu.h"

namespace mixq::ops {

namespace {

bool OneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (value == a) return true;
  return false;
}

// Output dims, and the scale of each axis that maps output coordinates back
// to input ones (given, or output / input when sizes are given; 0 if unknown).
Status Plan(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, ir::Shape* out,
            std::vector<double>* scales) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ValueInfo& input = *inputs[0];
  MIXQ_RETURN_IF_ERROR(ExpectFloat(input, "input"));
  const std::string mode = attrs.Str("mode");
  if (!OneOf(mode, {"nearest", "linear"}))
    return InvalidArgument("attribute 'mode' must be nearest or linear, got '", mode, "'");
  const std::string transform = attrs.Str("coordinate_transformation_mode");
  if (!OneOf(transform, {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}))
    return InvalidArgument(
        "attribute 'coordinate_transformation_mode' must be half_pixel, asymmetric, align_corners or "
        "pytorch_half_pixel, got '",
        transform, "'");
  const std::string nearest = attrs.Str("nearest_mode");
  if (!OneOf(nearest, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}))
    return InvalidArgument(
        "attribute 'nearest_mode' must be round_prefer_floor, round_prefer_ceil, floor or ceil, got '", nearest, "'");
  const ir::Shape& in = input.shape;
  const size_t rank = in.size();
  const auto sizes = attrs.Ints("sizes");
  const auto given_scales = attrs.Floats("scales");
  out->assign(rank, -1);
  scales->assign(rank, 0.0);
  if (!sizes.empty()) {
    if (sizes.size() != rank)
      return InvalidArgument("attribute 'sizes' must hold one value per axis of input ", ir::ShapeString(in), ", got ",
                             ir::ShapeString(sizes));
    for (size_t i = 0; i < rank; ++i) {
      if (sizes[i] < 1) return InvalidArgument("attribute 'sizes' must be >= 1, got ", ir::ShapeString(sizes));
      (*out)[i] = sizes[i];
      if (in[i] > 0) (*scales)[i] = static_cast<double>(sizes[i]) / static_cast<double>(in[i]);
    }
    return Status::OK();
  }
  if (given_scales.size() != rank)
    return InvalidArgument("attribute 'scales' must hold one value per axis of input ", ir::ShapeString(in), ", got ",
                           given_scales.size(), " values (or give 'sizes')");
  for (size_t i = 0; i < rank; ++i) {
    const double scale = given_scales[i];
    if (!(scale > 0.0) || !std::isfinite(scale))
      return InvalidArgument("attribute 'scales' must be finite and > 0, got ", given_scales[i], " for axis ", i);
    (*scales)[i] = scale;
    if (in[i] < 0) continue;
    // A double above 2^62 would not convert to int64 (undefined behaviour);
    // any such dim is far beyond the largest tensor anyway.
    const double dim = std::floor(static_cast<double>(in[i]) * scale);
    if (dim >= 0x1p62)
      return InvalidArgument("attribute 'scales' value ", given_scales[i], " resizes axis ", i, " (size ", in[i],
                             ") to ", dim, " elements, beyond what int64 shape arithmetic allows");
    (*out)[i] = static_cast<int64_t>(dim);
  }
  return Status::OK();
}

Status InferResize(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                   std::vector<ValueInfo>& outputs) {
  ir::Shape out;
  std::vector<double> scales;
  MIXQ_RETURN_IF_ERROR(Plan(attrs, inputs, &out, &scales));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = out;
  return Status::OK();
}

// Input coordinate of output index x along one axis.
double SourceCoordinate(const std::string& transform, int64_t x, int64_t in, int64_t out, double scale) {
  const double xd = static_cast<double>(x);
  if (transform == "asymmetric") return xd / scale;
  if (transform == "align_corners")
    return out == 1 ? 0.0 : xd * static_cast<double>(in - 1) / static_cast<double>(out - 1);
  if (transform == "pytorch_half_pixel" && out == 1) return 0.0;
  return (xd + 0.5) / scale - 0.5;  // half_pixel, pytorch_half_pixel
}

int64_t NearestIndex(const std::string& nearest, double coordinate, int64_t in) {
  double i;
  if (nearest == "floor")
    i = std::floor(coordinate);
  else if (nearest == "ceil")
    i = std::ceil(coordinate);
  else if (nearest == "round_prefer_ceil")
    i = std::floor(coordinate + 0.5);
  else
    i = std::ceil(coordinate - 0.5);  // round_prefer_floor
  return std::clamp(static_cast<int64_t>(i), int64_t{0}, in - 1);
}

}  // namespace

Status BuildResizeParams(const KernelInit& init, ResizeParams* out) {
  ResizeParams& p = *out;
  std::vector<double> scales;
  MIXQ_RETURN_IF_ERROR(Plan(init.attrs, init.inputs, &p.out, &scales));
  const ir::Shape& in = init.inputs[0]->shape;
  const bool linear = init.attrs.Str("mode") == "linear";
  const std::string transform = init.attrs.Str("coordinate_transformation_mode");
  const std::string nearest = init.attrs.Str("nearest_mode");
  p.in_strides = ir::Strides(in);
  for (size_t a = 0; a < in.size(); ++a) {
    if (in[a] == 0 && p.out[a] > 0)
      return InvalidArgument("input ", ir::ShapeString(in), " is empty along axis ", a, ", nothing to resize");
    AxisTaps taps;
    for (int64_t x = 0; x < p.out[a]; ++x) {
      const double c = SourceCoordinate(transform, x, in[a], p.out[a], scales[a]);
      if (!linear) {
        taps.first.push_back(NearestIndex(nearest, c, in[a]));
        taps.second.push_back(taps.first.back());
        taps.weight.push_back(0.0);
        continue;
      }
      // Clamping the coordinate is ONNX's edge extension of the input.
      const double clamped = std::clamp(c, 0.0, static_cast<double>(in[a] - 1));
      const int64_t i0 = static_cast<int64_t>(std::floor(clamped));
      taps.first.push_back(i0);
      taps.second.push_back(std::min(i0 + 1, in[a] - 1));
      taps.weight.push_back(clamped - static_cast<double>(i0));
    }
    p.axes.push_back(std::move(taps));
  }
  return Status::OK();
}

namespace {

// Nearest mode on quantized integers (or any 1- / 2-byte storage): a pure
// gather, exactly the quantized float result since nearest only copies.
template <typename T>
Status MakeNearestGather(const ResizeParams& p, std::unique_ptr<Kernel>* kernel) {
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in_views, const std::vector<TensorView>& out_views) {
        const T* x = in_views[0].Data<const T>();
        T* y = out_views[0].Data<T>();
        const size_t rank = p.out.size();
        const int64_t count = ir::ElementCount(p.out);
        std::vector<int64_t> index(rank, 0);
        for (int64_t k = 0; k < count; ++k) {
          int64_t offset = 0;
          for (size_t a = 0; a < rank; ++a) offset += p.axes[a].first[static_cast<size_t>(index[a])] * p.in_strides[a];
          y[k] = x[offset];
          for (size_t a = rank; a-- > 0;) {
            if (++index[a] < p.out[a]) break;
            index[a] = 0;
          }
        }
        return Status::OK();
      },
      kernel);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  ResizeParams p;
  MIXQ_RETURN_IF_ERROR(BuildResizeParams(init, &p));
  if (init.inputs[0]->narrowed) {
    if (init.attrs.Str("mode") != "nearest")
      return Unimplemented("linear Resize of ", DataTypeName(init.inputs[0]->dtype), " storage");
    if (DataTypeSize(init.inputs[0]->dtype) == 1) return MakeNearestGather<int8_t>(p, kernel);
    return MakeNearestGather<int16_t>(p, kernel);
  }
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in_views, const std::vector<TensorView>& out_views) {
        const float* x = in_views[0].Data<float>();
        float* y = out_views[0].Data<float>();
        const size_t rank = p.out.size();
        const int64_t count = ir::ElementCount(p.out);
        std::vector<int64_t> index(rank, 0);  // odometer over the output, last axis fastest
        for (int64_t k = 0; k < count; ++k) {
          // n-linear: every combination of first / second tap per axis.
          double value = 0.0;
          for (uint64_t mask = 0; mask < (uint64_t{1} << rank); ++mask) {
            double weight = 1.0;
            int64_t offset = 0;
            for (size_t a = 0; a < rank && weight != 0.0; ++a) {
              const AxisTaps& t = p.axes[a];
              const size_t o = static_cast<size_t>(index[a]);
              const bool second = (mask >> a) & 1;
              weight *= second ? t.weight[o] : 1.0 - t.weight[o];
              offset += (second ? t.second[o] : t.first[o]) * p.in_strides[a];
            }
            if (weight != 0.0) value += weight * x[offset];
          }
          y[k] = static_cast<float>(value);
          for (size_t a = rank; a-- > 0;) {
            if (++index[a] < p.out[a]) break;
            index[a] = 0;
          }
        }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& ResizeSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kResize;
    s.name = "Resize";
    s.summary = "Resizes every axis by a scale or to a size (ONNX Resize): nearest or n-linear.";
    s.input_names = {"input"};
    s.attrs = {
        {"scales", std::vector<float>{}, "one per axis; output = floor(input * scale)"},
        {"sizes", std::vector<int64_t>{}, "output dims, one per axis; when given, wins over scales"},
        {"mode", std::string("nearest"), "nearest or linear (n-linear over every resized axis)"},
        {"coordinate_transformation_mode", std::string("half_pixel"),
         "half_pixel, asymmetric, align_corners or pytorch_half_pixel"},
        {"nearest_mode", std::string("round_prefer_floor"),
         "nearest rounding: round_prefer_floor, round_prefer_ceil, floor or ceil"},
    };
    s.infer = InferResize;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
