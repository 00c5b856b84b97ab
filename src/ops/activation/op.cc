// PLACEHOLDER: replaced by the real operator definition.
#include "ops/op_util.h"

namespace mixq::ops {

const OpSchema& ActivationSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kActivation;
    s.name = "Activation";
    s.input_names = {"input"};
    s.infer = [](const ir::AttrMap&, const std::vector<const ValueInfo*>&, std::vector<ValueInfo>&) {
      return Unimplemented("Activation is not implemented yet");
    };
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
