// The operator registry, generated from ops.def.
#include <array>

#include "ops/op_schema.h"

namespace mixq::ops {

const std::vector<const OpSchema*>& AllSchemas() {
  static const std::vector<const OpSchema*> schemas = [] {
    std::vector<const OpSchema*> all;
#define MIXQ_OP(kind, folder) all.push_back(&kind##Schema());
#include "ops/ops.def"
#undef MIXQ_OP
    return all;
  }();
  return schemas;
}

const OpSchema& GetSchema(OpKind kind) { return *AllSchemas().at(static_cast<size_t>(kind)); }

const OpSchema* FindSchema(const std::string& name) {
  for (const OpSchema* schema : AllSchemas())
    if (schema->name == name) return schema;
  return nullptr;
}

}  // namespace mixq::ops
