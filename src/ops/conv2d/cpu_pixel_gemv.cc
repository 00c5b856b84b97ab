// Convolutions whose input and output are one pixel per image (the squeeze
// and excitation layers after a global pooling: PP-OCRv4 rec and det,
// PP-LCNet, MobileNetV3), run as the product of a few rows and constant
// weights that they are: "avx512-f32-gemv" / "avx2-f32-gemv" on float32,
// "avx512-f16-gemv" / "avx2-f16-gemv" on float16 storage, the kernel of
// FullyConnected's few-row products (ops/half_weight_gemm.h) on the input
// seen as [batch, C] and the output as [batch, O].
//
// Why: oneDNN 2.6 runs them as convolutions of one pixel, and where the
// output channels are no whole 16 (padded in its blocked filter) its
// brgconv_1x1 took 0.14 ms for PP-OCRv4 rec's 480 -> 120 layer (57,600
// multiply-adds: a few microseconds of streaming its weights) and 0.04 ms
// for its 240 -> 60 one (Intel Xeon, one thread), about a fiftieth of rec's
// float32 time, where OpenVINO took 0.018 and 0.007.
//
// Taken: a 1 x 1 filter (any stride and dilation: one pixel in, one out, no
// padding), one group, plain tensors, whatever the data layout (one pixel
// of NCHW or NHWC is the same C values), post-ops the kernel's output stage
// takes. Accuracy as that kernel's (float32 sums in input-channel order;
// float16 storage rounded once, then the post-ops as separate steps).
#include <memory>
#include <vector>

#include "ops/conv2d/conv_params.h"
#include "ops/half_weight_gemm.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

// The step seen as a product: x [batch, C] . W^T (W [O, C]) + bias.
struct PixelProduct {
  ConvGeometry g;
  HalfWeightGemmShape shape;
};

bool PixelStep(const KernelInit& init, PixelProduct* p) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (x.layout != MemoryLayout::kPlain || y.layout != MemoryLayout::kPlain || !w.const_data ||
      w.layout != MemoryLayout::kPlain)
    return false;
  if (!ir::IsStatic(x.shape) || !ir::IsStatic(y.shape) || !ir::IsStatic(w.shape)) return false;
  if (!ComputeConv2DGeometry(init.attrs, init.inputs, &p->g).ok()) return false;
  const ConvGeometry& g = p->g;
  if (g.kernel_h != 1 || g.kernel_w != 1 || g.group != 1 || g.in_h != 1 || g.in_w != 1 || g.out_h != 1 ||
      g.out_w != 1 || g.pad_top || g.pad_bottom || g.pad_left || g.pad_right)
    return false;
  p->shape.m = g.batch;
  p->shape.k = g.in_channels;
  p->shape.n = g.out_channels;
  p->shape.weights_transposed = true;  // packed [O, C] below
  p->shape.bias_input = 2;
  return true;
}

// The step's infos with the input as [batch, C], the filter as [O, C]
// (`filter`, packed from whatever filter layout), the output and every
// tensor of its shape (a residual addend) as [batch, O]: what the product's
// checks and its output stage read.
struct ProductInfos {
  std::vector<ValueInfo> storage;  // the reshaped copies
  std::vector<const ValueInfo*> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<float> filter;
};

void MakeProductInfos(const KernelInit& init, const PixelProduct& p, ProductInfos* r) {
  const ValueInfo& w = *init.inputs[1];
  const auto strides = LogicalStrides(w.shape, p.g.filter_axes);
  const auto* from = static_cast<const float*>(w.const_data);
  r->filter.resize(static_cast<size_t>(p.shape.n * p.shape.k));
  for (int64_t o = 0; o < p.shape.n; ++o)
    for (int64_t i = 0; i < p.shape.k; ++i)
      r->filter[static_cast<size_t>(o * p.shape.k + i)] = from[o * strides[0] + i * strides[1]];
  const ir::Shape out_shape = init.outputs[0].shape;
  r->storage.reserve(init.inputs.size());
  r->inputs.assign(init.inputs.size(), nullptr);
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    if (!init.inputs[i]) continue;
    ValueInfo v = *init.inputs[i];
    if (i == 0) {
      v.shape = {p.shape.m, p.shape.k};
    } else if (i == 1) {
      v.shape = {p.shape.n, p.shape.k};
      v.const_data = r->filter.data();
    } else if (v.shape == out_shape) {
      v.shape = {p.shape.m, p.shape.n};
    }
    r->storage.push_back(v);
    r->inputs[i] = &r->storage.back();
  }
  r->outputs = init.outputs;
  r->outputs[0].shape = {p.shape.m, p.shape.n};
}

template <bool kHalf>
bool Supports(const KernelInit& init) {
  PixelProduct p;
  if (!PixelStep(init, &p)) return false;
  // The dtype checks first: the packing below reads a float32 filter.
  if (init.inputs[1]->dtype != DataType::FLOAT32 || init.inputs[1]->quant) return false;
  ProductInfos r;
  MakeProductInfos(init, p, &r);
  return HalfWeightGemmComputes(
      KernelInit(init.attrs, r.inputs, r.outputs, init.input_compute, init.post_ops, init.weights, init.weight_key),
      p.shape, kHalf);
}

template <bool kHalf, bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  PixelProduct p;
  if (!PixelStep(init, &p) || init.inputs[1]->dtype != DataType::FLOAT32)
    return Internal("Conv2D gemv: takes 1 x 1 convolutions of one-pixel images only");
  ProductInfos r;
  MakeProductInfos(init, p, &r);
  const char* name =
      kHalf ? (kAvx512 ? "avx512-f16-gemv" : "avx2-f16-gemv") : (kAvx512 ? "avx512-f32-gemv" : "avx2-f32-gemv");
  return MakeHalfWeightGemm(
      KernelInit(init.attrs, r.inputs, r.outputs, init.input_compute, init.post_ops, init.weights, init.weight_key),
      p.shape, kHalf, kAvx512, name, kernel);
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, pixel_gemv) {
  // Above every convolution kernel that takes float32 or float16 storage
  // (the AMX ones rank 14-31): these steps are one pixel, which none of
  // them is made for.
  mixq::ops::RegisterKernel({"avx2-f32-gemv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 40,
                             mixq::ops::Supports<false>, mixq::ops::Make<false, false>});
  mixq::ops::RegisterKernel({"avx512-f32-gemv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 41,
                             mixq::ops::Supports<false>, mixq::ops::Make<false, true>});
  mixq::ops::RegisterKernel({"avx2-f16-gemv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 40,
                             mixq::ops::Supports<true>, mixq::ops::Make<true, false>});
  mixq::ops::RegisterKernel({"avx512-f16-gemv", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512, 41,
                             mixq::ops::Supports<true>, mixq::ops::Make<true, true>});
}
