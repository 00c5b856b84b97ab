// PLACEHOLDER: replaced by the real operator definition.
#include "ops/op_util.h"

namespace mixq::ops {

const OpSchema& ConvTranspose2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kConvTranspose2D;
    s.name = "ConvTranspose2D";
    s.input_names = {"input"};
    s.infer = [](const ir::AttrMap&, const std::vector<const ValueInfo*>&, std::vector<ValueInfo>&) {
      return Unimplemented("ConvTranspose2D is not implemented yet");
    };
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
