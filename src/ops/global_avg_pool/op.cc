// PLACEHOLDER: replaced by the real operator definition.
#include "ops/op_util.h"

namespace mixq::ops {

const OpSchema& GlobalAvgPoolSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kGlobalAvgPool;
    s.name = "GlobalAvgPool";
    s.input_names = {"input"};
    s.infer = [](const ir::AttrMap&, const std::vector<const ValueInfo*>&, std::vector<ValueInfo>&) {
      return Unimplemented("GlobalAvgPool is not implemented yet");
    };
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
