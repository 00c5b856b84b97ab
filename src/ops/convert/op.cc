// Convert: a storage conversion of one real-valued tensor, inserted by the
// Q/DQ placement pass (passes/qdq_placement.h), never built by users. Its
// input and output storage types say what it does:
//   FLOAT32 / FLOAT16 / BFLOAT16 -> INT8 / INT16   quantize (static, or dynamic:
//                                                  the range of this run's values)
//   INT8 / INT16 -> FLOAT32 / FLOAT16 / BFLOAT16   dequantize
//   INT8 / INT16 -> INT8 / INT16                   requantize (through float32)
//   FLOAT32 <-> FLOAT16 / BFLOAT16                  cast (rounded half to even)
// all with the math of SPEC §1 (quant/quant_math.h).
#include "ops/op_util.h"
#include "quant/quant_math.h"
#include "util/half.h"

namespace mixq::ops {

namespace {

Status InferConvert(const ir::AttrMap&, const std::vector<const ValueInfo*>& inputs, std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

bool Real(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16 || t == DataType::INT8 ||
         t == DataType::INT16;
}

float Load(const TensorView& t, int64_t e) {
  switch (t.dtype) {
    case DataType::FLOAT16: return HalfToFloat(t.Data<const uint16_t>()[e]);
    case DataType::BFLOAT16: return BFloat16ToFloat(t.Data<const uint16_t>()[e]);
    case DataType::INT8: return quant::Dequantize(t.Data<const int8_t>()[e], t.quant->scale, t.quant->zero_point);
    case DataType::INT16: return quant::Dequantize(t.Data<const int16_t>()[e], t.quant->scale, t.quant->zero_point);
    default: return t.Data<const float>()[e];
  }
}

void Store(const TensorView& t, int64_t e, float v) {
  switch (t.dtype) {
    case DataType::FLOAT16: t.Data<uint16_t>()[e] = FloatToHalf(v); break;
    case DataType::BFLOAT16: t.Data<uint16_t>()[e] = FloatToBFloat16(v); break;
    case DataType::INT8:
      t.Data<int8_t>()[e] = static_cast<int8_t>(quant::Quantize(v, t.quant->scale, t.quant->zero_point, 8));
      break;
    case DataType::INT16:
      t.Data<int16_t>()[e] = static_cast<int16_t>(quant::Quantize(v, t.quant->scale, t.quant->zero_point, 16));
      break;
    default: t.Data<float>()[e] = v; break;
  }
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ValueInfo& in = *init.inputs[0];
  const ValueInfo& out = init.outputs[0];
  if (!Real(in.dtype) || !Real(out.dtype))
    return InvalidArgument("Convert takes real-valued storage, got ", DataTypeName(in.dtype), " -> ",
                           DataTypeName(out.dtype));
  const bool in_int = in.dtype == DataType::INT8 || in.dtype == DataType::INT16;
  const bool out_int = out.dtype == DataType::INT8 || out.dtype == DataType::INT16;
  if ((in_int && !in.quant) || (out_int && !out.quant))
    return Internal("Convert: integer storage without quantization parameters");
  if (out_int && out.quant->axis >= 0) return Unimplemented("Convert: per-axis activation quantization");
  const bool dynamic = out_int && out.quant->dynamic;
  const int bits = out_int ? out.quant->bits : 8;
  const bool symmetric = out_int ? out.quant->symmetric : true;
  return MakeFunctionKernel(
      [dynamic, bits, symmetric](const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) {
        const TensorView& x = inputs[0];
        const TensorView& y = outputs[0];
        const int64_t n = x.Count();
        if (dynamic) {
          // Dynamic PTQ: this run's own range, over the values as stored.
          std::vector<float> values(static_cast<size_t>(n));
          for (int64_t e = 0; e < n; ++e) values[static_cast<size_t>(e)] = Load(x, e);
          MIXQ_RETURN_IF_ERROR(quant::ChooseScaleZeroPoint(quant::MinMax(values.data(), n), bits, symmetric,
                                                           &y.quant->scale, &y.quant->zero_point));
          for (int64_t e = 0; e < n; ++e) Store(y, e, values[static_cast<size_t>(e)]);
          return Status::OK();
        }
        for (int64_t e = 0; e < n; ++e) Store(y, e, Load(x, e));
        return Status::OK();
      },
      kernel);
}

}  // namespace

const OpSchema& ConvertSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConvert;
    s.name = "Convert";
    s.summary =
        "Storage conversion placed by the planner (quantize, dequantize, requantize, float16 / bfloat16 cast); "
        "not built by users.";
    s.input_names = {"input"};
    s.infer = InferConvert;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
