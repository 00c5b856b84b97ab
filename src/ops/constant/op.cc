// Constant: a tensor whose value is fixed at build time (weights, biases).
// Its payload lives on the node; the runtime binds it directly, no kernel runs.
#include "ops/op_schema.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

Status InferConstant(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>&,
                     std::vector<ValueInfo>& outputs) {
  DataType dtype;
  if (!ParseDataType(attrs.Str("dtype"), &dtype))
    return InvalidArgument("attribute 'dtype' is not a data type: '", attrs.Str("dtype"), "'");
  ir::Shape shape = attrs.Ints("shape");
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("constant dims must be known, got ", ir::ShapeString(shape));
  outputs[0].dtype = dtype;
  outputs[0].shape = shape;
  return Status::OK();
}

}  // namespace

const OpSchema& ConstantSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConstant;
    s.name = "Constant";
    s.summary = "A tensor fixed at build time (weights, biases); no kernel runs.";
    s.min_inputs = 0;
    s.attrs = {{"dtype", std::string("FLOAT32"), "element type"},
               {"shape", std::vector<int64_t>{}, "dims"}};
    s.infer = InferConstant;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
