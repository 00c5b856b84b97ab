#include "test_util/op_runner.h"

#include <gtest/gtest.h>

#include "ops/kernel_registry.h"
#include "util/status_util.h"

namespace mixq::testing {

namespace {
Status FillAttrs(const ops::OpSchema& schema, const ir::AttrMap& given, ir::AttrMap* attrs) {
  *attrs = given;
  for (const auto& [name, value] : given.values()) {
    const ops::AttrSpec* spec = schema.FindAttr(name);
    if (!spec) return InvalidArgument("unknown attribute '", name, "'");
    if (ir::TypeOf(value) != ir::TypeOf(spec->default_value))
      return InvalidArgument("attribute '", name, "' has the wrong type");
  }
  for (const auto& spec : schema.attrs)
    if (!attrs->Has(spec.name)) attrs->Set(spec.name, spec.default_value);
  return Status::OK();
}
}  // namespace

Status InferOp(OpKind kind, const ir::AttrMap& given, const std::vector<std::optional<ops::ValueInfo>>& inputs,
               int num_outputs, std::vector<ops::ValueInfo>* outputs) {
  const ops::OpSchema& schema = ops::GetSchema(kind);
  ir::AttrMap attrs;
  MIXQ_RETURN_IF_ERROR(FillAttrs(schema, given, &attrs));
  std::vector<const ops::ValueInfo*> in;
  for (const auto& i : inputs) in.push_back(i ? &*i : nullptr);
  outputs->assign(static_cast<size_t>(num_outputs), ops::ValueInfo{});
  return schema.infer(attrs, in, *outputs);
}

namespace {
// An op's attributes with their defaults, its inputs as infos (constant
// ones with their bytes) and its inferred outputs: what a KernelInit
// points at. Filled in place (`in` points into `infos`).
struct PreparedOp {
  ir::AttrMap attrs;
  std::vector<ops::ValueInfo> infos, out;
  std::vector<const ops::ValueInfo*> in;
};

Status PrepareOp(OpKind kind, const ir::AttrMap& given, const std::vector<std::optional<HostTensor>>& inputs,
                 int num_outputs, PreparedOp* op) {
  const ops::OpSchema& schema = ops::GetSchema(kind);
  MIXQ_RETURN_IF_ERROR(FillAttrs(schema, given, &op->attrs));
  op->infos.assign(inputs.size(), ops::ValueInfo{});
  op->in.assign(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) continue;
    const HostTensor& t = *inputs[i];
    if (ir::ElementCount(t.shape) * static_cast<int64_t>(DataTypeSize(t.dtype)) != static_cast<int64_t>(t.bytes.size()))
      return InvalidArgument("test input ", i, " holds ", t.bytes.size(), " bytes, its shape needs more or fewer");
    op->infos[i] = {t.dtype, t.shape, t.is_constant ? t.bytes.data() : nullptr};
    op->in[i] = &op->infos[i];
  }
  op->out.assign(static_cast<size_t>(num_outputs), ops::ValueInfo{});
  return schema.infer(op->attrs, op->in, op->out);
}

// `name`: that registered kernel; null: the reference or the registry's pick.
Status RunKernel(OpKind kind, const ir::AttrMap& given, const std::vector<std::optional<HostTensor>>& inputs,
                 int num_outputs, std::vector<HostTensor>* outputs, KernelKind kernel_kind, const char* name) {
  PreparedOp op;
  MIXQ_RETURN_IF_ERROR(PrepareOp(kind, given, inputs, num_outputs, &op));
  const std::vector<ops::ValueInfo>& out = op.out;
  // kOptimized: what the runtime's kernel registry picks for these types
  // (the best registered kernel, the reference where none supports them).
  const ops::KernelDef* def = nullptr;
  const ops::KernelInit init{op.attrs, op.in, op.out};
  if (name) {
    def = ops::FindKernel(kind, name);
    if (!def) return NotFound("no kernel named '", name, "'");
    if (def->isa > kernels::BestIsa())
      return FailedPrecondition("kernel '", name, "' needs ", kernels::IsaName(def->isa), ", this CPU runs ",
                                kernels::IsaName(kernels::BestIsa()));
  } else {
    MIXQ_RETURN_IF_ERROR(
        ops::SelectKernel(kind, init, kernel_kind == KernelKind::kReference, kernels::BestIsa(), &def));
  }
  std::unique_ptr<ops::Kernel> kernel;
  MIXQ_RETURN_IF_ERROR(def->make(init, &kernel));
  std::vector<ops::TensorView> in_views(inputs.size()), out_views(out.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) continue;
    in_views[i] = {inputs[i]->dtype, inputs[i]->shape, const_cast<uint8_t*>(inputs[i]->bytes.data())};
  }
  outputs->assign(out.size(), HostTensor{});
  for (size_t o = 0; o < out.size(); ++o) {
    HostTensor& t = (*outputs)[o];
    t.dtype = out[o].dtype;
    t.shape = out[o].shape;
    t.bytes.assign(static_cast<size_t>(ir::ElementCount(t.shape)) * DataTypeSize(t.dtype), 0);
    out_views[o] = {t.dtype, t.shape, t.bytes.data()};
  }
  return kernel->Run(in_views, out_views);
}
}  // namespace

Status SelectedKernelName(OpKind kind, const ir::AttrMap& given, const std::vector<std::optional<HostTensor>>& inputs,
                          int num_outputs, std::string* name) {
  PreparedOp op;
  MIXQ_RETURN_IF_ERROR(PrepareOp(kind, given, inputs, num_outputs, &op));
  const ops::KernelDef* def = nullptr;
  MIXQ_RETURN_IF_ERROR(
      ops::SelectKernel(kind, ops::KernelInit{op.attrs, op.in, op.out}, false, kernels::BestIsa(), &def));
  *name = def->name;
  return Status::OK();
}

Status RunOp(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs,
             int num_outputs, std::vector<HostTensor>* outputs, KernelKind kernel) {
  return RunKernel(kind, attrs, inputs, num_outputs, outputs, kernel, nullptr);
}

Status RunOpWithKernel(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs,
                       int num_outputs, std::vector<HostTensor>* outputs, const char* kernel_name) {
  return RunKernel(kind, attrs, inputs, num_outputs, outputs, KernelKind::kOptimized, kernel_name);
}

HostTensor RunOpOrDie(OpKind kind, const ir::AttrMap& attrs, const std::vector<std::optional<HostTensor>>& inputs) {
  std::vector<HostTensor> outputs;
  Status status = RunOp(kind, attrs, inputs, 1, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return outputs.empty() ? HostTensor{} : outputs[0];
}

}  // namespace mixq::testing
