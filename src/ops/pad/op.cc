// Pad: ONNX Pad with the pads as an attribute. Modes constant, reflect, edge;
// negative pads crop. Any element type: elements are copied as bytes.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "quant/quant_math.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

struct PadPlan {
  std::vector<int64_t> begins, ends;
  ir::Shape output;
};

Status Plan(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs, PadPlan* plan) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  const ir::Shape& in = inputs[0]->shape;
  const std::string mode = attrs.Str("mode");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return InvalidArgument("attribute 'mode' must be constant, reflect or edge, got '", mode, "'");
  const auto pads = attrs.Ints("pads");
  const size_t rank = in.size();
  if (pads.size() != 2 * rank)
    return InvalidArgument("attribute 'pads' must hold ", 2 * rank, " values (begins, then ends) for input ",
                           ir::ShapeString(in), ", got ", ir::ShapeString(pads));
  plan->begins.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
  plan->ends.assign(pads.begin() + static_cast<std::ptrdiff_t>(rank), pads.end());
  plan->output.resize(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t begin = plan->begins[i], end = plan->ends[i], dim = in[i];
    if (dim < 0) {  // checked again when the kernel is prepared for a concrete shape
      plan->output[i] = -1;
      continue;
    }
    int64_t padded = 0;
    if (!ir::CheckedAdd(dim, begin, &padded) || !ir::CheckedAdd(padded, end, &padded))
      return InvalidArgument("attribute 'pads' ", ir::ShapeString(pads), " overflows int64 on axis ", i, " (size ", dim,
                             ")");
    plan->output[i] = padded;
    if (plan->output[i] < 0)
      return InvalidArgument("attribute 'pads' ", ir::ShapeString(pads), " crops axis ", i, " (size ", dim,
                             ") by more than its size");
    // Reflection mirrors around the edge element, so it needs that many others.
    if (mode == "reflect" && ((begin > 0 && begin >= dim) || (end > 0 && end >= dim)))
      return InvalidArgument("attribute 'pads' ", ir::ShapeString(pads), ": reflect padding of axis ", i,
                             " must be smaller than its size ", dim);
    if (mode == "edge" && dim == 0 && (begin > 0 || end > 0))
      return InvalidArgument("attribute 'pads' ", ir::ShapeString(pads), ": edge padding of axis ", i,
                             " needs a non-empty axis");
  }
  return Status::OK();
}

Status InferPad(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                std::vector<ValueInfo>& outputs) {
  PadPlan plan;
  MIXQ_RETURN_IF_ERROR(Plan(attrs, inputs, &plan));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = plan.output;
  return Status::OK();
}

// Float to integer the way a cast should behave on odd values: NaN gives 0,
// out-of-range values saturate, the rest truncate toward zero.
template <typename T>
T SaturatingCast(float value) {
  if (std::isnan(value)) return T{0};
  const double v = std::trunc(static_cast<double>(value));
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <typename T>
void Store(T value, std::vector<uint8_t>* bytes) {
  bytes->resize(sizeof(T));
  std::memcpy(bytes->data(), &value, sizeof(T));
}

// The constant's bytes in the element type.
Status EncodeValue(float value, DataType dtype, std::vector<uint8_t>* bytes) {
  switch (dtype) {
    case DataType::FLOAT32:
      Store(value, bytes);
      break;
    case DataType::FLOAT16:
      Store(FloatToHalf(value), bytes);
      break;
    case DataType::BFLOAT16:
      Store(FloatToBFloat16(value), bytes);
      break;
    case DataType::INT8:
      Store(SaturatingCast<int8_t>(value), bytes);
      break;
    case DataType::INT16:
      Store(SaturatingCast<int16_t>(value), bytes);
      break;
    case DataType::INT32:
      Store(SaturatingCast<int32_t>(value), bytes);
      break;
    case DataType::INT64:
      Store(SaturatingCast<int64_t>(value), bytes);
      break;
    case DataType::UINT8:
      Store(SaturatingCast<uint8_t>(value), bytes);
      break;
    case DataType::BOOL:
      Store(static_cast<uint8_t>(value != 0.0f), bytes);
      break;
    default:
      // A quantized constant depends on the scale and zero point, which a
      // byte-copying kernel does not know.
      return Unimplemented("constant padding of input 'input' in ", DataTypeName(dtype),
                           " is not supported (pad in float, or use edge / reflect)");
  }
  return Status::OK();
}

// Source index along one axis for each output index; -1 reads the constant.
std::vector<int64_t> SourceIndices(int64_t dim, int64_t begin, int64_t out, const std::string& mode) {
  std::vector<int64_t> source(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    int64_t i = o - begin;
    if (i < 0 || i >= dim) {
      if (mode == "constant")
        i = -1;
      else if (mode == "edge")
        i = i < 0 ? 0 : dim - 1;
      else
        i = i < 0 ? -i : 2 * (dim - 1) - i;  // reflect, edge element not repeated
    }
    source[static_cast<size_t>(o)] = i;
  }
  return source;
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  PadPlan plan;
  MIXQ_RETURN_IF_ERROR(Plan(init.attrs, init.inputs, &plan));
  const ValueInfo& input = *init.inputs[0];
  const std::string mode = init.attrs.Str("mode");
  std::vector<uint8_t> constant;
  if (mode == "constant" && IsIntegerStorage(input)) {
    // Quantized storage pads with the constant's quantized code (SPEC §1), so
    // padding the integers equals quantizing the float padding.
    const ir::QuantBinding& q = *input.quant;
    if (q.scales.size() != 1) return Unimplemented("constant padding of a per-axis quantized tensor");
    const int32_t code = quant::Quantize(init.attrs.Float("value"), q.scales[0], q.zero_points[0], q.bits);
    if (q.bits == 8) Store(static_cast<int8_t>(code), &constant);
    else Store(static_cast<int16_t>(code), &constant);
  } else if (mode == "constant") {
    MIXQ_RETURN_IF_ERROR(EncodeValue(init.attrs.Float("value"), input.dtype, &constant));
  }
  std::vector<std::vector<int64_t>> sources;
  for (size_t i = 0; i < input.shape.size(); ++i)
    sources.push_back(SourceIndices(input.shape[i], plan.begins[i], plan.output[i], mode));
  const auto in_strides = ir::Strides(input.shape);
  const ir::Shape out_shape = plan.output;
  const size_t element = DataTypeSize(input.dtype);
  return MakeFunctionKernel(
      [sources, in_strides, out_shape, element, constant](const std::vector<TensorView>& in,
                                                          const std::vector<TensorView>& out) {
        const auto* x = static_cast<const uint8_t*>(in[0].data);
        auto* y = static_cast<uint8_t*>(out[0].data);
        const int64_t count = ir::ElementCount(out_shape);
        std::vector<int64_t> index(out_shape.size(), 0);  // odometer over the output, last axis fastest
        for (int64_t k = 0; k < count; ++k) {
          int64_t offset = 0;
          bool inside = true;
          for (size_t a = 0; a < index.size(); ++a) {
            const int64_t s = sources[a][static_cast<size_t>(index[a])];
            if (s < 0) inside = false;
            offset += s * in_strides[a];
          }
          const uint8_t* from = inside ? x + static_cast<size_t>(offset) * element : constant.data();
          std::memcpy(y + static_cast<size_t>(k) * element, from, element);
          for (size_t a = index.size(); a-- > 0;) {
            if (++index[a] < out_shape[a]) break;
            index[a] = 0;
          }
        }
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& PadSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kPad;
    s.name = "Pad";
    s.summary = "Pads (or, with negative pads, crops) every axis: constant, reflect or edge.";
    s.input_names = {"input"};
    s.attrs = {
        {"pads", std::vector<int64_t>{}, "begins of every axis, then ends (ONNX order); negative values crop"},
        {"mode", std::string("constant"), "constant, reflect (mirror, edge not repeated) or edge (repeat edge)"},
        {"value", 0.0f, "the constant of constant mode, converted to the element type"},
    };
    s.infer = InferPad;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
