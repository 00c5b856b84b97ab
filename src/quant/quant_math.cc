#include "quant/quant_math.h"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <string>

#include "util/status_util.h"

namespace mixq::quant {
namespace {

// Shortest text that reads back as the same float, so an error about
// min > max never prints "1 > 1" for neighbouring floats.
std::string FloatStr(float v) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, result.ptr);
}

std::string RangeStr(Range r) {
  return StrCat("[", FloatStr(r.min), ", ", FloatStr(r.max), "]");
}

Status CheckBits(int bits) {
  if (!IsSupportedBits(bits)) return InvalidArgument("quantization bits must be 8 or 16, got ", bits);
  return Status::OK();
}

// Saturating double -> float: converting a double outside the float range is
// UB in C++, and an inf here would poison every later requantization.
float SaturateToFloat(double v) {
  if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(std::clamp(v, -static_cast<double>(FLT_MAX), static_cast<double>(FLT_MAX)));
}

Status ElementCount(const std::vector<int64_t>& shape, int64_t* count) {
  int64_t total = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) return InvalidArgument("dimension ", i, " of the tensor to quantize is ", d, " (must be >= 0)");
    if (d != 0 && total > std::numeric_limits<int64_t>::max() / d) {
      return InvalidArgument("element count of the tensor to quantize overflows int64");
    }
    total *= d;
  }
  *count = total;
  return Status::OK();
}

Status ResolveAxis(int64_t axis, size_t rank, size_t* resolved) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    return InvalidArgument("quantization axis ", axis, " is outside a tensor of rank ", rank);
  }
  *resolved = static_cast<size_t>(axis < 0 ? axis + r : axis);
  return Status::OK();
}

// Row-major view of a tensor as [outer, channels, inner] around one axis, so
// per-tensor (channels = 1) and per-axis share one loop.
struct AxisLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
};

AxisLayout LayoutAround(const std::vector<int64_t>& shape, size_t axis) {
  AxisLayout layout;
  for (size_t i = 0; i < axis; ++i) layout.outer *= shape[i];
  layout.channels = shape[axis];
  for (size_t i = axis + 1; i < shape.size(); ++i) layout.inner *= shape[i];
  return layout;
}

// Validates params against the shape and returns the layout to loop over.
Status PrepareTensorLayout(const void* a, const void* b, const std::vector<int64_t>& shape, const QuantParams& params,
                           AxisLayout* layout) {
  MIXQ_RETURN_IF_ERROR(ValidateQuantParams(params));
  int64_t count = 0;
  MIXQ_RETURN_IF_ERROR(ElementCount(shape, &count));
  if (count > 0 && (a == nullptr || b == nullptr)) return InvalidArgument("null data pointer for a non-empty tensor");
  if (!params.per_axis()) {
    *layout = AxisLayout{1, 1, count};
    return Status::OK();
  }
  size_t axis = 0;
  MIXQ_RETURN_IF_ERROR(ResolveAxis(params.axis, shape.size(), &axis));
  if (static_cast<int64_t>(params.scales.size()) != shape[axis]) {
    return InvalidArgument("per-axis quantization along axis ", params.axis, " has ", params.scales.size(),
                           " scales but the tensor has ", shape[axis], " channels on that axis");
  }
  *layout = LayoutAround(shape, axis);
  return Status::OK();
}

template <typename T>
void QuantizeLoop(const float* x, const AxisLayout& l, const QuantParams& p, T* out) {
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = p.scales[static_cast<size_t>(c)];
      const int32_t z = p.zero_points[static_cast<size_t>(c)];
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) out[base + i] = static_cast<T>(Quantize(x[base + i], s, z, p.bits));
    }
  }
}

template <typename T>
void DequantizeLoop(const T* q, const AxisLayout& l, const QuantParams& p, float* out) {
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = p.scales[static_cast<size_t>(c)];
      const int32_t z = p.zero_points[static_cast<size_t>(c)];
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) out[base + i] = Dequantize(q[base + i], s, z);
    }
  }
}

}  // namespace

Status ValidateQuantParams(const QuantParams& params) {
  MIXQ_RETURN_IF_ERROR(CheckBits(params.bits));
  if (params.scales.empty()) return InvalidArgument("quantization parameters have no scale");
  if (params.scales.size() != params.zero_points.size()) {
    return InvalidArgument("quantization parameters have ", params.scales.size(), " scales but ",
                           params.zero_points.size(), " zero points");
  }
  if (!params.per_axis() && params.scales.size() != 1) {
    return InvalidArgument("per-tensor quantization needs exactly 1 scale, got ", params.scales.size());
  }
  const int32_t n = QMin(params.bits);
  const int32_t p = QMax(params.bits);
  for (size_t c = 0; c < params.scales.size(); ++c) {
    const float s = params.scales[c];
    if (!std::isfinite(s) || !(s > 0.0f)) {
      return InvalidArgument("quantization scale ", c, " is ", FloatStr(s), " (must be finite and > 0)");
    }
    const int32_t z = params.zero_points[c];
    if (z < n || z > p) {
      return InvalidArgument("zero point ", c, " is ", z, ", outside [", n, ", ", p, "] for ", params.bits, " bits");
    }
    if (params.symmetric && z != 0) {
      return InvalidArgument("zero point ", c, " is ", z, " but symmetric quantization requires 0");
    }
  }
  return Status::OK();
}

Status ChooseScaleZeroPoint(Range range, int bits, bool symmetric, float* scale, int32_t* zero_point) {
  MIXQ_RETURN_IF_ERROR(CheckBits(bits));
  if (!std::isfinite(range.min) || !std::isfinite(range.max)) {
    return InvalidArgument("quantization range ", RangeStr(range), " is not finite");
  }
  if (range.min > range.max) {
    return InvalidArgument("quantization range ", RangeStr(range), " has min ", FloatStr(range.min), " > max ",
                           FloatStr(range.max));
  }
  const int32_t n = QMin(bits);
  const int32_t p = QMax(bits);
  const float lo = std::min(range.min, 0.0f);
  const float hi = std::max(range.max, 0.0f);
  if (lo == hi) {  // Both 0: any scale represents the range; 1 is the conventional choice.
    *scale = 1.0f;
    *zero_point = 0;
    return Status::OK();
  }
  double s = 0.0;
  if (symmetric) {
    s = static_cast<double>(std::max(-lo, hi)) / p;
  } else {
    s = (static_cast<double>(hi) - static_cast<double>(lo)) / (static_cast<double>(p) - n);
  }
  // |bounds| <= FLT_MAX and p - n >= 255, so s fits in float: no saturation needed.
  float sf = static_cast<float>(s);
  if (sf < FLT_MIN) sf = FLT_MIN;  // See the header: subnormal scales break under FTZ.
  int32_t z = 0;
  if (!symmetric) {
    // In int64: n - round(min / s) can exceed p by one from the rounding of s.
    const int64_t unclamped = static_cast<int64_t>(n) - RoundHalfToEven(lo / sf);
    z = static_cast<int32_t>(std::clamp<int64_t>(unclamped, n, p));
  }
  *scale = sf;
  *zero_point = z;
  return Status::OK();
}

Status MakeQuantParams(const std::vector<Range>& ranges, int bits, bool symmetric, int64_t axis, QuantParams* out) {
  if (ranges.empty()) return InvalidArgument("no range to make quantization parameters from");
  if (axis == kPerTensor && ranges.size() != 1) {
    return InvalidArgument("per-tensor quantization needs exactly 1 range, got ", ranges.size());
  }
  QuantParams params;
  params.bits = bits;
  params.symmetric = symmetric;
  params.axis = axis;
  params.scales.resize(ranges.size());
  params.zero_points.resize(ranges.size());
  for (size_t c = 0; c < ranges.size(); ++c) {
    const Status status = ChooseScaleZeroPoint(ranges[c], bits, symmetric, &params.scales[c], &params.zero_points[c]);
    if (!status.ok()) return WithContext(status, StrCat("range ", c));
  }
  *out = std::move(params);
  return Status::OK();
}

int32_t RoundHalfToEven(float x) {
  if (std::isnan(x)) return 0;
  // 2147483520 is the largest float below 2^31; -2^31 is exact. Clamping here
  // keeps the conversion below defined for every input, inf included.
  constexpr float kLow = -2147483648.0f;
  constexpr float kHigh = 2147483520.0f;
  if (x <= kLow) return std::numeric_limits<int32_t>::min();
  if (x > kHigh) return std::numeric_limits<int32_t>::max();
  // Work on |x| so that x - floor(x) is exact: for a >= 1, floor(a) <= a < 2 floor(a)
  // (Sterbenz); for a < 1 the difference is a itself. (For negative x, x - floor(x)
  // can round, e.g. -0.1f + 1.) Round-half-to-even is symmetric, so negate after.
  const float a = std::fabs(x);
  const float r = std::floor(a);
  const float diff = a - r;
  int64_t magnitude = static_cast<int64_t>(r);  // r <= 2^31: fits int64.
  if (diff > 0.5f || (diff == 0.5f && (magnitude & 1) != 0)) magnitude += 1;
  // Within [-2^31, 2^31 - 128] after the clamps above, so the result fits int32.
  return static_cast<int32_t>(x < 0.0f ? -magnitude : magnitude);
}

int32_t Quantize(float x, float scale, int32_t zero_point, int bits) {
  assert(IsSupportedBits(bits));
  const float v = x / scale;
  if (std::isnan(v)) return zero_point;
  // int64: round() may saturate to INT32_MAX and adding z must not overflow.
  const int64_t q = static_cast<int64_t>(RoundHalfToEven(v)) + zero_point;
  return static_cast<int32_t>(std::clamp<int64_t>(q, QMin(bits), QMax(bits)));
}

float Dequantize(int32_t q, float scale, int32_t zero_point) {
  // The double product is exact (24-bit mantissa times a < 2^33 integer), so
  // rounding it once equals the float32 product whenever that is finite.
  const int64_t centered = static_cast<int64_t>(q) - zero_point;
  return SaturateToFloat(static_cast<double>(scale) * static_cast<double>(centered));
}

float DequantizeAccumulator(int64_t acc, float input_scale, float weight_scale) {
  const double v = (static_cast<double>(acc) * static_cast<double>(input_scale)) * static_cast<double>(weight_scale);
  return SaturateToFloat(v);
}

float QuantizationStep(const QuantParams& params, size_t channel) {
  const size_t index = params.per_axis() ? channel : 0;
  assert(index < params.scales.size());
  return params.scales[index];
}

Status QuantizeTensor(const float* x, const std::vector<int64_t>& shape, const QuantParams& params, void* out) {
  AxisLayout layout;
  MIXQ_RETURN_IF_ERROR(PrepareTensorLayout(x, out, shape, params, &layout));
  if (params.bits == 8) {
    QuantizeLoop(x, layout, params, static_cast<int8_t*>(out));
  } else {
    QuantizeLoop(x, layout, params, static_cast<int16_t*>(out));
  }
  return Status::OK();
}

Status DequantizeTensor(const void* q, const std::vector<int64_t>& shape, const QuantParams& params, float* out) {
  AxisLayout layout;
  MIXQ_RETURN_IF_ERROR(PrepareTensorLayout(q, out, shape, params, &layout));
  if (params.bits == 8) {
    DequantizeLoop(static_cast<const int8_t*>(q), layout, params, out);
  } else {
    DequantizeLoop(static_cast<const int16_t*>(q), layout, params, out);
  }
  return Status::OK();
}

Range MinMax(const float* x, int64_t n) {
  bool seen = false;
  Range range;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (std::isnan(v)) continue;
    if (!seen) {
      range = Range{v, v};
      seen = true;
    } else {
      range.min = std::min(range.min, v);
      range.max = std::max(range.max, v);
    }
  }
  return range;
}

Status PerAxisMinMax(const float* x, const std::vector<int64_t>& shape, int64_t axis, std::vector<Range>* out) {
  int64_t count = 0;
  MIXQ_RETURN_IF_ERROR(ElementCount(shape, &count));
  if (count > 0 && x == nullptr) return InvalidArgument("null data pointer for a non-empty tensor");
  size_t resolved = 0;
  MIXQ_RETURN_IF_ERROR(ResolveAxis(axis, shape.size(), &resolved));
  const AxisLayout l = LayoutAround(shape, resolved);
  std::vector<Range> ranges(static_cast<size_t>(l.channels));
  std::vector<bool> seen(ranges.size(), false);  // Same NaN rule as MinMax, per channel.
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* block = x + (o * l.channels + c) * l.inner;
      Range& acc = ranges[static_cast<size_t>(c)];
      for (int64_t i = 0; i < l.inner; ++i) {
        const float v = block[i];
        if (std::isnan(v)) continue;
        if (!seen[static_cast<size_t>(c)]) {
          acc = Range{v, v};
          seen[static_cast<size_t>(c)] = true;
        } else {
          acc.min = std::min(acc.min, v);
          acc.max = std::max(acc.max, v);
        }
      }
    }
  }
  *out = std::move(ranges);
  return Status::OK();
}

}  // namespace mixq::quant
