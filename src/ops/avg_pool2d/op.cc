// PLACEHOLDER: replaced by the real operator definition.
#include "ops/op_util.h"

namespace mixq::ops {

const OpSchema& AvgPool2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kAvgPool2D;
    s.name = "AvgPool2D";
    s.input_names = {"input"};
    s.infer = [](const ir::AttrMap&, const std::vector<const ValueInfo*>&, std::vector<ValueInfo>&) {
      return Unimplemented("AvgPool2D is not implemented yet");
    };
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
