// BatchNorm on FLOAT16 storage: each (outer, channel) row widened with F16C
// in chunks, the reference's arithmetic (op.cc: double, rounded to float once)
// and the float rounded to float16, the values of the Cast steps around the
// reference; bit-identical with them.
#include <algorithm>
#include <cmath>

#include "kernels/half_io.h"
#include "ops/batch_norm/rows.h"
#include "ops/half_storage.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

class BatchNormHalf : public Kernel {
 public:
  BatchNormHalf(int64_t outer, int64_t channels, int64_t inner, double epsilon, bool in_half, bool out_half)
      : outer_(outer), channels_(channels), inner_(inner), epsilon_(epsilon), in_half_(in_half), out_half_(out_half) {}
  const char* Name() const override { return "avx2-f16"; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* mean = in[1].Data<const float>();
    const float* variance = in[2].Data<const float>();
    const float* scale = in[3].Data<const float>();
    const float* bias = in[4].Data<const float>();
    alignas(32) float x_buf[kHalfChunk], y_buf[kHalfChunk];
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t c = 0; c < channels_; ++c) {
        const double inv_std = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon_);
        const int64_t row = (o * channels_ + c) * inner_;
        for (int64_t at = 0; at < inner_; at += kHalfChunk) {
          const int64_t n = std::min(kHalfChunk, inner_ - at);
          const float* x = in[0].Data<const float>() + row + at;
          if (in_half_) {
            kernels::HalfToFloatRow(in[0].Data<const uint16_t>() + row + at, x_buf, n);
            x = x_buf;
          }
          float* y = out_half_ ? y_buf : out[0].Data<float>() + row + at;
          for (int64_t i = 0; i < n; ++i)
            y[i] = static_cast<float>((x[i] - static_cast<double>(mean[c])) * inv_std * scale[c] + bias[c]);
          if (out_half_) kernels::FloatToHalfRow(y_buf, out[0].Data<uint16_t>() + row + at, n);
        }
      }
    return Status::OK();
  }

 private:
  int64_t outer_, channels_, inner_;
  double epsilon_;
  bool in_half_, out_half_;
};

bool Geometry(const KernelInit& init, int64_t* outer, int64_t* channels, int64_t* inner) {
  return BatchNormRows(init, outer, channels, inner);
}

bool Supports(const KernelInit& init) {
  int64_t outer, channels, inner;
  return Geometry(init, &outer, &channels, &inner) && HalfOrFloatStorage(init) && IsHalfStorage(*init.inputs[0]);
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  int64_t outer = 1, channels = 0, inner = 1;
  if (!Geometry(init, &outer, &channels, &inner)) return Internal("BatchNorm avx2-f16: unsupported step");
  *kernel = std::make_unique<BatchNormHalf>(outer, channels, inner, init.attrs.Float("epsilon"),
                                            IsHalfStorage(*init.inputs[0]), IsHalfStorage(init.outputs[0]));
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(batch_norm, avx2_half) {
  mixq::ops::RegisterKernel(
      {"avx2-f16", mixq::OpKind::kBatchNorm, mixq::kernels::Isa::kAvx2, 10, mixq::ops::Supports, mixq::ops::Make});
}
