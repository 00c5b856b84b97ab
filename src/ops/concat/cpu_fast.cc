// Fast Concat kernel ("cpu-fast"): the reference's copies (each input's
// chunk per index of the dims before the axis, in output order), split over
// the threads by output bytes once the output is large. The reference copies
// on one thread: PP-OCRv4 det's four 24 x 80 x 80 maps into 96 channels took
// 0.135 ms at 2 threads, as at 1 (Intel Xeon). Any element size and storage
// type the reference moves; bit-identical with it, a copy.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/kernel_registry.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

// Outputs from which the copies are split over the threads: each part at
// least about 64 KiB at 4 threads (a parallel region's wake-up costs about
// what one core copies in that time).
constexpr int64_t kMinParallelBytes = 256 * 1024;

bool Supports(const KernelInit& init) {
  if (init.inputs.empty() || init.outputs.size() != 1 || init.outputs[0].layout != MemoryLayout::kPlain) return false;
  const size_t size = DataTypeSize(init.outputs[0].dtype);
  for (const ValueInfo* in : init.inputs)
    if (!in || !ir::IsStatic(in->shape) || in->layout != MemoryLayout::kPlain || DataTypeSize(in->dtype) != size ||
        size == 0)
      return false;
  return ReferenceKernel(OpKind::kConcat).supports(init);
}

class FastConcat : public Kernel {
 public:
  const char* Name() const override { return "cpu-fast"; }

  Status Init(const KernelInit& init) {
    const ir::Shape& out = init.outputs[0].shape;
    int64_t axis = 0;
    MIXQ_RETURN_IF_ERROR(NormalizeAxisAttr(init.attrs.Int("axis"), static_cast<int64_t>(out.size()), "axis", &axis));
    const size_t size = DataTypeSize(init.outputs[0].dtype);
    outer_ = DimProduct(out, 0, static_cast<size_t>(axis));
    starts_.push_back(0);
    for (const ValueInfo* in : init.inputs) {
      if (in->shape.size() != out.size()) return InvalidArgument("input ranks differ from the output's");
      chunks_.push_back(DimProduct(in->shape, static_cast<size_t>(axis), in->shape.size()) *
                        static_cast<int64_t>(size));
      starts_.push_back(starts_.back() + chunks_.back());
    }
    if (outer_ * starts_.back() != ir::ElementCount(out) * static_cast<int64_t>(size))
      return InvalidArgument("inputs hold ", outer_ * starts_.back(), " bytes for an output of ",
                             ir::ElementCount(out) * static_cast<int64_t>(size));
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t row = starts_.back(), total = outer_ * row;
    auto* y = static_cast<unsigned char*>(out[0].data);
    const int threads = std::max(1, omp_get_max_threads());
    const int parts = total >= kMinParallelBytes ? threads : 1;
    // Output bytes [begin, end): the pieces of the chunks that land there.
    auto copy = [&](int64_t begin, int64_t end) {
      for (int64_t at = begin; at < end;) {
        const int64_t o = at / row, r = at % row;
        size_t i = 0;
        while (starts_[i + 1] <= r) ++i;  // the input whose chunk holds byte r of the row (empty ones never do)
        const int64_t n = std::min(starts_[i + 1] - r, end - at);
        std::memcpy(y + at, static_cast<const unsigned char*>(in[i].data) + o * chunks_[i] + (r - starts_[i]),
                    static_cast<size_t>(n));
        at += n;
      }
    };
#pragma omp parallel for schedule(static) if (parts > 1)
    for (int p = 0; p < parts; ++p) copy(total * p / parts, total * (p + 1) / parts);
    return Status::OK();
  }

 private:
  int64_t outer_ = 1;            // product of the dims before the axis
  std::vector<int64_t> chunks_;  // per input: its bytes per outer index
  std::vector<int64_t> starts_;  // where each input's chunk starts in an output row; last: the row's bytes
};

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<FastConcat>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(concat, fast) {
  mixq::ops::RegisterKernel(
      {"cpu-fast", mixq::OpKind::kConcat, mixq::kernels::Isa::kGeneric, 10, mixq::ops::Supports, mixq::ops::Make});
}
