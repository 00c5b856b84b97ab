#include "ops/shape_ops_util.h"

#include <algorithm>
#include <cstring>

#include "kernels/strided_copy.h"
#include "ops/kernel_registry.h"
#include "ops/op_util.h"

namespace mixq::ops {

Status NormalizeAxisAttr(int64_t axis, int64_t rank, const char* attr, int64_t* normalized) {
  if (!ir::NormalizeAxis(axis, rank, normalized))
    return InvalidArgument("attribute '", attr, "' value ", axis, " is out of range for rank ", rank,
                           " (valid: ", -rank, "..", rank - 1, ")");
  return Status::OK();
}

Status NormalizeAxesAttr(const std::vector<int64_t>& axes, int64_t rank, const char* attr,
                         std::vector<int64_t>* normalized) {
  normalized->clear();
  for (int64_t axis : axes) {
    int64_t a;
    MIXQ_RETURN_IF_ERROR(NormalizeAxisAttr(axis, rank, attr, &a));
    if (std::find(normalized->begin(), normalized->end(), a) != normalized->end())
      return InvalidArgument("attribute '", attr, "' names axis ", a, " twice");
    normalized->push_back(a);
  }
  return Status::OK();
}

int64_t DimProduct(const ir::Shape& shape, size_t begin, size_t end) {
  int64_t product = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) {
    if (shape[i] < 0) return -1;
    product *= shape[i];
  }
  return product;
}

Status ExpectStatic(const ValueInfo& info, const char* name) {
  if (!ir::IsStatic(info.shape))
    return InvalidArgument("'", name, "' needs a concrete shape to prepare a kernel, got ",
                           ir::ShapeString(info.shape));
  return Status::OK();
}

void StridedCopy(const StridedCopyParams& p, const void* input, void* output) {
  const int64_t count = ir::ElementCount(p.shape);
  if (count <= 0) return;
  const auto* in = static_cast<const unsigned char*>(input);
  auto* out = static_cast<unsigned char*>(output);
  const size_t rank = p.shape.size();
  // Odometer over the output index; `offset` tracks the input element.
  std::vector<int64_t> index(rank, 0);
  int64_t offset = p.base;
  for (int64_t o = 0; o < count; ++o) {
    std::memcpy(out + static_cast<size_t>(o) * p.element_size, in + static_cast<size_t>(offset) * p.element_size,
                p.element_size);
    for (size_t k = rank; k-- > 0;) {
      offset += p.steps[k];
      if (++index[k] < p.shape[k]) break;
      offset -= p.steps[k] * p.shape[k];
      index[k] = 0;
    }
  }
}

Status MakeFastStridedCopyKernel(const StridedCopyParams& params, bool avx2, const char* name,
                                 std::unique_ptr<Kernel>* kernel) {
  auto plan = std::make_shared<const kernels::StridedCopyPlan>(params.shape, params.steps, params.base,
                                                               params.element_size, avx2);
  return MakeFunctionKernel(
      [plan](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        plan->Run(in[0].data, out[0].data);
        return Status::OK();
      },
      kernel, name);
}

bool FastStridedCopySupports(OpKind op, const KernelInit& init) {
  if (init.inputs.empty() || !init.inputs[0] || init.outputs.size() != 1) return false;
  const ValueInfo& in = *init.inputs[0];
  if (!ir::IsStatic(in.shape) || DataTypeSize(in.dtype) == 0 ||
      DataTypeSize(init.outputs[0].dtype) != DataTypeSize(in.dtype))
    return false;
  return ReferenceKernel(op).supports(init);
}

Status MakeByteCopyKernel(std::unique_ptr<Kernel>* kernel) {
  return MakeFunctionKernel(
      [](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        if (in[0].Bytes() != out[0].Bytes())
          return InvalidArgument("input holds ", in[0].Bytes(), " bytes but the output needs ", out[0].Bytes());
        // A runtime may alias the output onto the input; copying onto itself is then a no-op.
        if (out[0].Bytes() > 0 && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, out[0].Bytes());
        return Status::OK();
      },
      kernel);
}

}  // namespace mixq::ops
