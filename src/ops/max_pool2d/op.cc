// MaxPool2D: maximum over 2-D windows; padding never wins (acts as -inf).
#include <array>
#include <limits>

#include "ops/op_util.h"
#include "ops/pool_params.h"

namespace mixq::ops {

namespace {

Status InferMaxPool(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                    std::vector<ValueInfo>& outputs) {
  PoolGeometry g;
  MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(attrs, inputs, true, &g));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = Physical({g.batch, g.channels, g.out_h, g.out_w}, g.axes);
  return Status::OK();
}

// T: float, or int8_t / int16_t for quantized storage (max commutes with the
// monotonic quantization of SPEC §1, so the integers are exactly the
// quantized float result; an all-padding window gives the lowest code).
template <typename T>
Status MakeTypedReference(const PoolGeometry& g, const std::array<int64_t, 4>& in_s,
                          const std::array<int64_t, 4>& out_s, std::unique_ptr<Kernel>* kernel) {
  return MakeFunctionKernel(
      [g, in_s, out_s](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const T* x = in[0].Data<const T>();
        T* y = out[0].Data<T>();
        const T lowest = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                              : std::numeric_limits<T>::lowest();
        for (int64_t n = 0; n < g.batch; ++n)
          for (int64_t c = 0; c < g.channels; ++c)
            for (int64_t oh = 0; oh < g.out_h; ++oh)
              for (int64_t ow = 0; ow < g.out_w; ++ow) {
                T best = lowest;
                for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                  const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                  if (ih < 0 || ih >= g.in_h) continue;
                  for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                    const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                    if (iw < 0 || iw >= g.in_w) continue;
                    T v = x[n * in_s[0] + c * in_s[1] + ih * in_s[2] + iw * in_s[3]];
                    // NaN propagates, as in ONNX Runtime and PyTorch: the
                    // window's first NaN (in row-major order) is the result.
                    if (v > best || v != v) best = v;
                    if (best != best) {
                      kh = g.kernel_h;  // ends the outer loop too
                      break;
                    }
                  }
                }
                y[n * out_s[0] + c * out_s[1] + oh * out_s[2] + ow * out_s[3]] = best;
              }
        return Status::OK();
      },
      kernel);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  PoolGeometry g;
  MIXQ_RETURN_IF_ERROR(ReadPoolGeometry(init.attrs, init.inputs, true, &g));
  const auto in_s = LogicalStrides(init.inputs[0]->shape, g.axes);
  const auto out_s = LogicalStrides(init.outputs[0].shape, g.axes);
  switch (init.inputs[0]->dtype) {
    case DataType::INT8:
      return MakeTypedReference<int8_t>(g, in_s, out_s, kernel);
    case DataType::INT16:
      return MakeTypedReference<int16_t>(g, in_s, out_s, kernel);
    default:
      return MakeTypedReference<float>(g, in_s, out_s, kernel);
  }
}

}  // namespace

const OpSchema& MaxPool2DSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kMaxPool2D;
    s.name = "MaxPool2D";
    s.summary = "Maximum over 2-D windows (default 2x2, stride 2).";
    s.input_names = {"input"};
    s.attrs = PoolAttrSpecs(/*with_dilations=*/true);
    s.infer = InferMaxPool;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
