// AVX2 FakeQuantize (FLOAT32 in and out), per tensor or per axis (blocks of
// `inner` values share a scale), by ops/fake_quantize_row.h: y = s *
// (clamp(rint(x / s) + z, n, p) - z) eight values at a time with the
// reference's float32 operations (the product of a code and s rounded once,
// as the reference's exact double product). Bit-exact with the reference.
#include <cfloat>

#include "kernels/parallel.h"
#include "ops/fake_quantize_row.h"
#include "ops/kernel_registry.h"
#include "quant/quant_math.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

class FakeQuantizeAvx2 : public Kernel {
 public:
  const char* Name() const override { return "avx2"; }
  Status Init(const KernelInit& init) {
    bits_ = static_cast<int>(init.attrs.Int("bits", 8));
    scales_ = init.attrs.Floats("scales");
    for (int64_t z : init.attrs.Ints("zero_points")) zero_points_.push_back(static_cast<int32_t>(z));
    const int64_t axis = init.attrs.Int("axis", -1);
    const ir::Shape& shape = init.inputs[0]->shape;
    if (axis >= 0) {
      channels_ = shape[static_cast<size_t>(axis)];
      for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner_ *= shape[d];
    } else {
      inner_ = ir::ElementCount(shape);
    }
    if (scales_.size() != static_cast<size_t>(channels_) || zero_points_.size() != scales_.size())
      return Internal("FakeQuantize avx2: ", scales_.size(), " scales for ", channels_, " channels");
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* x = in[0].Data<const float>();
    float* y = out[0].Data<float>();
    if (channels_ == 1) {  // per tensor: one block, split in chunks over the threads
      kernels::ForEachChunk(in[0].Count(), [&](int64_t b, int64_t n) {
        FakeQuantizeRowAvx2(x + b, y + b, n, scales_[0], zero_points_[0], bits_);
      });
      return Status::OK();
    }
    const int64_t blocks = in[0].Count() / std::max<int64_t>(1, inner_);
#pragma omp parallel for schedule(static) if (in[0].Count() > kernels::kMinParallelElements)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t c = static_cast<size_t>(b % channels_);
      FakeQuantizeRowAvx2(x + b * inner_, y + b * inner_, inner_, scales_[c], zero_points_[c], bits_);
    }
    return Status::OK();
  }

 private:
  int bits_ = 8;
  std::vector<float> scales_;
  std::vector<int32_t> zero_points_;
  int64_t channels_ = 1, inner_ = 1;
};

bool Supports(const KernelInit& init) {
  if (init.inputs.size() != 1 || !init.inputs[0] || init.HasPostOps()) return false;
  const ValueInfo& x = *init.inputs[0];
  if (x.dtype != DataType::FLOAT32 || x.narrowed || init.outputs[0].dtype != DataType::FLOAT32 ||
      init.outputs[0].narrowed || !ir::IsStatic(x.shape))
    return false;
  // Scales > 0 and finite (validated at build): the vector division is the reference's.
  for (float s : init.attrs.Floats("scales"))
    if (!(s > 0.0f) || s > FLT_MAX) return false;
  return true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<FakeQuantizeAvx2>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fake_quantize, avx2) {
  mixq::ops::RegisterKernel(
      {"avx2", mixq::OpKind::kFakeQuantize, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
