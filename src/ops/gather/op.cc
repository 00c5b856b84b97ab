// PLACEHOLDER: replaced by the real operator definition.
#include "ops/op_util.h"

namespace mixq::ops {

const OpSchema& GatherSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kGather;
    s.name = "Gather";
    s.input_names = {"input"};
    s.infer = [](const ir::AttrMap&, const std::vector<const ValueInfo*>&, std::vector<ValueInfo>&) {
      return Unimplemented("Gather is not implemented yet");
    };
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
