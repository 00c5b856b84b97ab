#include "ops/elementwise/int8_add.h"

#include <algorithm>

#include "kernels/parallel.h"
#include "ops/elementwise/lut_function.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

// Elements per chunk of the parallel loop (a multiple of every form's step).
constexpr int64_t kChunk = int64_t{1} << 16;

class Int8Add : public Kernel {
 public:
  Int8Add(const char* name, Int8AddRange range, Int8Params a, Int8Params b, bool int_out, Int8Params out, int64_t count)
      : name_(name), range_(range), a_(a), b_(b), int_out_(int_out), out_(out), count_(count) {}
  const char* Name() const override { return name_; }
  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int8_t* a = in[0].Data<const int8_t>();
    const int8_t* b = in[1].Data<const int8_t>();
    auto* y = static_cast<char*>(out[0].data);
    const size_t width = int_out_ ? 1 : sizeof(float);
#pragma omp parallel for schedule(static) if (count_ > 4 * kernels::kMinParallelElements)
    for (int64_t at = 0; at < count_; at += kChunk)
      range_(a + at, b + at, std::min(kChunk, count_ - at), a_, b_, int_out_, out_,
             y + static_cast<size_t>(at) * width);
    return Status::OK();
  }

 private:
  const char* name_;
  Int8AddRange range_;
  Int8Params a_, b_;
  bool int_out_;
  Int8Params out_;
  int64_t count_;
};

}  // namespace

bool SameShapeInt8Add(const KernelInit& init) {
  return Int8AddStep(init) && init.inputs[0]->shape == init.outputs[0].shape &&
         init.inputs[1]->shape == init.outputs[0].shape && UniformLayout(init);
}

void Int8AddLayoutSlots(const KernelInit& init, MemoryLayout block, std::vector<bool>* inputs,
                        std::vector<bool>* outputs) {
  const bool ok =
      block == MemoryLayout::kChannelsLast && SameShapeInt8Add(init) && init.outputs[0].dtype == DataType::INT8;
  inputs->assign(init.inputs.size(), ok);
  outputs->assign(init.outputs.size(), ok);
}

Status MakeInt8Add(const KernelInit& init, const char* name, Int8AddRange range, std::unique_ptr<Kernel>* kernel) {
  if (!SameShapeInt8Add(init)) return Internal(name, " does not take this add");
  const ValueInfo& out = init.outputs[0];
  *kernel = std::make_unique<Int8Add>(name, range, ParamsOf(*init.inputs[0]), ParamsOf(*init.inputs[1]),
                                      out.dtype == DataType::INT8, ParamsOf(out), ir::ElementCount(out.shape));
  return Status::OK();
}

}  // namespace mixq::ops
