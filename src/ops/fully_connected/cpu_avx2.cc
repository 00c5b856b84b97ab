// AVX2 int8 FullyConnected: the exact integer accumulation of the quantized
// reference as an int16 GEMM (kernels/int16_gemm.h, the exact int16
// saturation policy) inside the reference's output stage (alpha, beta and the
// broadcast bias of ops/quantized_reference.h), so results are bit-exact with
// reference-quantized. The weight (constant) is packed once. Symmetric int16
// operands run as "avx2-int16": weights split in bytes, int64 sums
// (kernels::GemmInt16ExactAvx2).
#include "kernels/int16_gemm.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

struct FcShape {
  int64_t m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = true;
};

bool ReadShape(const KernelInit& init, FcShape* s) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1]) return false;
  const ir::Shape& a = init.inputs[0]->shape;
  const ir::Shape& b = init.inputs[1]->shape;
  if (a.size() != 2 || b.size() != 2 || !ir::IsStatic(a) || !ir::IsStatic(b)) return false;
  s->transpose_a = init.attrs.Int("transpose_a") != 0;
  s->transpose_b = init.attrs.Int("transpose_b", 1) != 0;
  s->m = s->transpose_a ? a[1] : a[0];
  s->k = s->transpose_a ? a[0] : a[1];
  s->n = s->transpose_b ? b[0] : b[1];
  return (s->transpose_b ? b[1] : b[0]) == s->k;
}

class FcAccumulateAvx2 : public Kernel {
 public:
  FcAccumulateAvx2(const FcShape& s, bool exact16) : s_(s), exact16_(exact16) {
    depth_ = kernels::Int16GemmDepth(s.k);
    ldc_ = (s.n + kernels::kInt16Panel - 1) / kernels::kInt16Panel * kernels::kInt16Panel;
    a_.assign(static_cast<size_t>(s.m * depth_), 0);
    if (!exact16) c_.assign(static_cast<size_t>(s.m * ldc_), 0);
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int32_t* a = in[0].Data<const int32_t>();
    const int32_t* b = in[1].Data<const int32_t>();
    if (b != packed_from_) {
      const FcShape s = s_;
      auto value = [&](int64_t t, int64_t j) {
        return static_cast<int16_t>(s.transpose_b ? b[j * s.k + t] : b[t * s.n + j]);
      };
      if (exact16_)
        kernels::PackInt16SplitB(s.k, s.n, value, &split_);
      else
        kernels::PackInt16B(s.k, s.n, value, &packed_);
      packed_from_ = b;
    }
    for (int64_t i = 0; i < s_.m; ++i)
      for (int64_t t = 0; t < s_.k; ++t)
        a_[static_cast<size_t>(i * depth_ + t)] =
            static_cast<int16_t>(s_.transpose_a ? a[t * s_.m + i] : a[i * s_.k + t]);
    int64_t* y = out[0].Data<int64_t>();
    if (exact16_) {
      kernels::GemmInt16ExactAvx2(a_.data(), depth_, s_.m, split_, s_.n, y, s_.n);
      return Status::OK();
    }
    kernels::GemmInt16Avx2(a_.data(), depth_, s_.m, packed_, c_.data(), ldc_);
    for (int64_t i = 0; i < s_.m; ++i)
      for (int64_t j = 0; j < s_.n; ++j) y[i * s_.n + j] = c_[static_cast<size_t>(i * ldc_ + j)];
    return Status::OK();
  }

 private:
  FcShape s_;
  bool exact16_ = false;  // int16 operands, int64 sums
  kernels::PackedInt16SplitB split_;
  int64_t depth_ = 0, ldc_ = 0;
  std::vector<int16_t> a_;
  std::vector<int32_t> c_;
  kernels::PackedInt16B packed_;
  const int32_t* packed_from_ = nullptr;
};

template <bool kExact16>
Status MakeAccumulate(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  FcShape s;
  if (!ReadShape(init, &s)) return Internal("FullyConnected avx2 integer kernel: unexpected shapes");
  *kernel = std::make_unique<FcAccumulateAvx2>(s, kExact16);
  return Status::OK();
}

bool Supports(const KernelInit& init) {
  FcShape s;
  return TakesInt8Operands(init) && init.inputs[1]->const_data && ReadShape(init, &s) &&
         s.k < kernels::kInt8GemmMaxDepth;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(FullyConnectedSchema(), init, MakeAccumulate<false>, "avx2-int8-staged", kernel);
}

bool Supports16(const KernelInit& init) {
  FcShape s;
  return TakesSymmetricInt16Operands(init) && init.inputs[1]->const_data && ReadShape(init, &s);
}

Status Make16(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  return MakeQuantizedKernel(FullyConnectedSchema(), init, MakeAccumulate<true>, "avx2-int16", kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(fully_connected, avx2) {
  mixq::ops::RegisterKernel({"avx2-int8-staged", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports, mixq::ops::Make});
  mixq::ops::RegisterKernel({"avx2-int16", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 10,
                             mixq::ops::Supports16, mixq::ops::Make16});
}
