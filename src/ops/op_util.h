// Helpers shared by operator definitions: input checks, dynamic-dim
// arithmetic, broadcasting and a kernel wrapper for stateless kernels.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops/op_schema.h"
#include "util/status_util.h"

namespace mixq::ops {

// The input as given, or an error naming it when it is required but omitted.
Status RequireInput(const std::vector<const ValueInfo*>& inputs, size_t index, const char* name);
// Error unless input `index` has exactly `rank` dims.
Status ExpectRank(const ValueInfo& info, int64_t rank, const char* name);
// Error unless dtype is FLOAT32 (the only float compute type of reference kernels).
Status ExpectFloat(const ValueInfo& info, const char* name);

// Numpy broadcasting of two shapes, -1 aware. Error names both shapes.
Status BroadcastShapes(const ir::Shape& a, const ir::Shape& b, ir::Shape* out);

// The largest stride, dilation, pad, output padding or pooling window an op
// accepts. With dims bounded by ir::kMaxTensorBytes, window arithmetic
// (stride * (in - 1) + dilation * (kernel - 1) + pads) then stays far inside int64.
constexpr int64_t kMaxWindowAttr = int64_t{1} << 20;
// INVALID_ARGUMENT naming attribute `name` if a value exceeds kMaxWindowAttr.
Status CheckWindowAttr(const char* name, const std::vector<int64_t>& values);

// Output size of a sliding window along one axis; -1 if `in` is dynamic.
// pads are (begin, end); dilation applies to the kernel extent.
int64_t WindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                         int64_t dilation, bool ceil_mode);

// Resolves SAME_UPPER / SAME_LOWER / VALID / EXPLICIT padding for one axis.
// mode is the attribute string ("EXPLICIT", "SAME_UPPER", "SAME_LOWER", "VALID").
Status ResolvePadding(const std::string& mode, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                      int64_t* pad_begin, int64_t* pad_end);

// A kernel that runs a function prepared once (captures its parameters).
class FunctionKernel : public Kernel {
 public:
  using Fn = std::function<Status(const std::vector<TensorView>&, const std::vector<TensorView>&)>;
  FunctionKernel(Fn fn, const char* name) : fn_(std::move(fn)), name_(name) {}
  Status Run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) override {
    return fn_(inputs, outputs);
  }
  const char* Name() const override { return name_; }

 private:
  Fn fn_;
  const char* name_;
};

// `name`: what the kernel is (see Kernel::Name); reference kernels keep the default.
inline Status MakeFunctionKernel(FunctionKernel::Fn fn, std::unique_ptr<Kernel>* kernel,
                                 const char* name = "reference") {
  *kernel = std::make_unique<FunctionKernel>(std::move(fn), name);
  return Status::OK();
}

// Index helpers for row-major tensors.
inline int64_t Offset4(const std::vector<int64_t>& strides, int64_t a, int64_t b, int64_t c, int64_t d) {
  return a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3];
}

}  // namespace mixq::ops
