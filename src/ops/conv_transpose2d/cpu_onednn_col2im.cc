// float32 ConvTranspose2D as one matrix product and a gather of rows
// ("onednn-col2im"), also on float16 storage. Every input pixel p meets every
// filter tap j = (oc, kh, kw): C[j][p] = sum_ic W[ic][j] X[ic][p], one oneDNN
// matmul per image (the filter as a constant [OC * KH * KW, IC] matrix per
// group, the image's channel planes as the run-time [IC, H * W] operand). Each
// output row is then assembled in L1 from the C rows of the taps that land on
// it: the bias, then the taps in (kh, kw) order. The fused post-ops
// (activations, scalars, a residual add) and float16 rounding run over the
// finished row (HalfOutputStage: as the separate steps would, bit for bit).
//
// Why: oneDNN 2.6's own deconvolution runs PP-OCR det's 24 -> 24 upsampling
// (2 x 2, stride 2, 80 x 80) in 4.8-7.3 ms in every layout it takes (gemm and
// col2im on NCHW; jit kernels on blocked and NHWC), about 3 GMAC/s; its
// matmul does the same product in 0.4 ms and the rows take 0.3. And it takes
// no post-ops cheaply (cpu_onednn.cc), while this one fuses them.
//
// Float sums in another order than the reference's double ones: within the
// Conv2D tolerance (test_util/conv_compare.h), each output a float32 sum of
// at most IC * KH * KW products.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/half_io.h"
#include "kernels/onednn.h"
#include "kernels/parallel.h"
#include "ops/conv_transpose2d/geometry.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "ops/layout.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"
#include "ops/shape_ops_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

class ConvTransposeCol2Im : public Kernel {
 public:
  const char* Name() const override { return "onednn-col2im"; }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    TransposedGeometry tg;
    MIXQ_RETURN_IF_ERROR(ComputeTransposedGeometry(init.attrs, init.inputs, &tg));
    for (size_t i = 0; i < 2; ++i) MIXQ_RETURN_IF_ERROR(ExpectStatic(*init.inputs[i], "input"));
    g_ = tg.conv;
    taps_ = g_.kernel_h * g_.kernel_w;
    pixels_ = g_.in_h * g_.in_w;
    opg_ = g_.out_channels / g_.group;
    ipg_ = g_.in_channels / g_.group;
    rows_ = opg_ * taps_;
    exact_cover_ = g_.stride_h == g_.kernel_h && g_.stride_w == g_.kernel_w && g_.dilation_h == 1 &&
                   g_.dilation_w == 1 && g_.pad_top == 0 && g_.pad_left == 0;
    in_half_ = IsHalfStorage(*init.inputs[0]);
    has_bias_ = init.inputs.size() > 2 && init.inputs[2] != nullptr;
    staged_ = IsHalfStorage(init.outputs[0]) || (init.post_ops && !init.post_ops->empty());
    if (staged_) stage_ = std::make_unique<HalfOutputStage>(init);

    PlanBands();

    const ValueInfo& w = *init.inputs[1];
    const auto strides = LogicalStrides(w.shape, g_.filter_axes);
    const auto f32 = memory::data_type::f32;
    return kernels::OneDnnCall("ConvTranspose2D (oneDNN matmul)", [&] {
      auto& engine = kernels::CpuEngine();
      // A window of window_rows_ input rows as [group][pixel][i]: a strided
      // view of the image's NCHW planes.
      const int64_t m = window_rows_ * g_.in_w;
      x_md_ = memory::desc({g_.group, m, ipg_}, f32, {ipg_ * pixels_, 1, pixels_});
      c_md_ = memory::desc({g_.group, m, rows_}, f32, memory::format_tag::abc);
      const memory::desc w_any({g_.group, ipg_, rows_}, f32, memory::format_tag::any);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x_md_, w_any, c_md_), engine);
      matmul_ = dnnl::matmul(pd);
      // The taps in (o, kh, kw) order must be one stride: copied so when the
      // filter layout does not nest them.
      std::vector<float> taps;
      const float* raw = static_cast<const float*>(w.const_data);
      const bool nested = strides[3] == 1 && strides[2] == g_.kernel_w && strides[0] == taps_;
      if (!nested) {
        taps.resize(static_cast<size_t>(g_.group * ipg_ * rows_));
        for (int64_t grp = 0; grp < g_.group; ++grp)
          for (int64_t i = 0; i < ipg_; ++i)
            for (int64_t o = 0; o < opg_; ++o)
              for (int64_t t = 0; t < taps_; ++t)
                taps[static_cast<size_t>((grp * ipg_ + i) * rows_ + o * taps_ + t)] =
                    raw[o * strides[0] + (grp * ipg_ + i) * strides[1] + t / g_.kernel_w * strides[2] +
                        t % g_.kernel_w * strides[3]];
      }
      const memory::desc source_md =
          nested ? memory::desc({g_.group, ipg_, rows_}, f32, {ipg_ * strides[1], strides[1], 1})
                 : memory::desc({g_.group, ipg_, rows_}, f32, memory::format_tag::abc);
      packed_weights_ =
          PackWeights(init, "deconv-col2im", source_md, nested ? raw : taps.data(), pd.weights_desc(), &private_bytes_);
      weights_ = *packed_weights_;
    });
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const float* bias = has_bias_ && in.size() > 2 ? in[2].Data<const float>() : nullptr;
    if (in_half_) wide_.resize(static_cast<size_t>(g_.in_channels * pixels_));
    const int threads = std::max(1, omp_get_max_threads());
    const int64_t window = g_.group * window_rows_ * g_.in_w * rows_;
    if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
    for (Worker& w : workers_) {
      w.products.resize(static_cast<size_t>(window));
      w.row.resize(static_cast<size_t>(g_.out_w));
    }
    const int64_t bands = static_cast<int64_t>(bands_.size());
    for (int64_t n = 0; n < g_.batch; ++n) {
      const int64_t image = n * g_.in_channels * pixels_;
      const float* x = in[0].Data<const float>() + image;
      if (in_half_) {
        kernels::HalfToFloatParallel(in[0].Data<const uint16_t>() + image, wide_.data(), g_.in_channels * pixels_);
        x = wide_.data();
      }
      // Bands of output rows, each from one matmul over the input rows it
      // needs (in L2), in parallel; a single band leaves the threads to oneDNN.
      bool failed = false;
      Status error;
#pragma omp parallel for schedule(dynamic, 1) if (bands > 1 && threads > 1)
      for (int64_t b = 0; b < bands; ++b) {
        Worker& w = workers_[static_cast<size_t>(omp_get_thread_num())];
        const Status s = RunBand(bands_[static_cast<size_t>(b)], x, bias, n, in, out[0], &w);
        if (!s.ok()) {
#pragma omp critical(mixq_col2im_error)
          {
            failed = true;
            error = s;
          }
        }
      }
      if (failed) return error;
    }
    return Status::OK();
  }

 private:
  // Output rows [oy_begin, oy_end) from input rows [iy_begin, iy_begin + window_rows_).
  struct Band {
    int64_t oy_begin = 0, oy_end = 0, iy_begin = 0;
  };
  struct Worker {
    std::vector<float> products;  // [group][window pixel][rows_]
    std::vector<float> row;       // one output row (staged outputs)
    dnnl::stream stream;
  };

  // Output bands of about kBandBytes of matmul results each; the input rows
  // an output row reads are those with iy * sh - pad_top + kh * dh == oy.
  void PlanBands() {
    constexpr int64_t kBandBytes = 256 * 1024;
    const int64_t row_bytes = g_.group * g_.in_w * rows_ * static_cast<int64_t>(sizeof(float));
    const int64_t in_rows = std::max<int64_t>(1, kBandBytes / std::max<int64_t>(1, row_bytes));
    const int64_t out_rows = std::max<int64_t>(1, in_rows * g_.stride_h);
    auto first_input = [&](int64_t oy) {  // the lowest iy any row >= oy reads
      const int64_t t = oy + g_.pad_top - (g_.kernel_h - 1) * g_.dilation_h;
      return std::max<int64_t>(0, t <= 0 ? 0 : (t + g_.stride_h - 1) / g_.stride_h);
    };
    auto last_input = [&](int64_t oy) {  // the highest iy any row <= oy reads
      const int64_t t = oy + g_.pad_top;
      return std::min<int64_t>(g_.in_h - 1, t < 0 ? -1 : t / g_.stride_h);
    };
    window_rows_ = 1;
    for (int64_t oy = 0; oy < g_.out_h; oy += out_rows) {
      const int64_t end = std::min(g_.out_h, oy + out_rows);
      window_rows_ = std::max(window_rows_, last_input(end - 1) - first_input(oy) + 1);
    }
    window_rows_ = std::min(window_rows_, g_.in_h);
    bands_.clear();
    for (int64_t oy = 0; oy < g_.out_h; oy += out_rows) {
      Band b;
      b.oy_begin = oy;
      b.oy_end = std::min(g_.out_h, oy + out_rows);
      b.iy_begin = std::min(first_input(oy), g_.in_h - window_rows_);
      bands_.push_back(b);
    }
  }

  Status RunBand(const Band& band, const float* x, const float* bias, int64_t n, const std::vector<TensorView>& in,
                 const TensorView& y, Worker* w) {
    MIXQ_RETURN_IF_ERROR(kernels::OneDnnCall("ConvTranspose2D (oneDNN matmul)", [&] {
      auto& engine = kernels::CpuEngine();
      if (!w->stream) w->stream = dnnl::stream(engine);
      memory xm(x_md_, engine, const_cast<float*>(x + band.iy_begin * g_.in_w)), cm(c_md_, engine, w->products.data());
      matmul_.execute(w->stream, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, cm}});
      w->stream.wait();
    }));
    const int64_t plane = g_.out_h * g_.out_w;
    for (int64_t oy = band.oy_begin; oy < band.oy_end; ++oy)
      for (int64_t oc = 0; oc < g_.out_channels; ++oc) {
        const int64_t offset = (n * g_.out_channels + oc) * plane + oy * g_.out_w;
        float* row = staged_ ? w->row.data() : y.Data<float>() + offset;
        const float b = bias ? bias[oc] : 0.0f;
        if (exact_cover_)
          ExactCoverRow(w->products.data(), band.iy_begin, oc, oy, b, row);
        else
          AssembleRow(w->products.data(), band.iy_begin, oc, oy, b, row);
        if (staged_) stage_->Apply(row, g_.out_w, offset, in, y);
      }
    return Status::OK();
  }

  // Stride == kernel, no padding, no dilation (PP-OCR's 2 x 2 upsampling):
  // every output position takes exactly one tap, and the KW taps of an input
  // pixel are adjacent in C and in the output row. Positions past the input's
  // reach (output padding) take the bias alone. `c`: the window's products
  // from input row iy_begin.
  void ExactCoverRow(const float* c, int64_t iy_begin, int64_t oc, int64_t oy, float bias, float* row) const {
    const int64_t iy = oy / g_.stride_h, kh = oy % g_.stride_h, kw_count = g_.kernel_w;
    int64_t covered = 0;
    if (iy < g_.in_h) {
      const int64_t grp = oc / opg_, o = oc % opg_;
      const float* from =
          c + (grp * window_rows_ * g_.in_w + (iy - iy_begin) * g_.in_w) * rows_ + o * taps_ + kh * kw_count;
      for (int64_t ix = 0; ix < g_.in_w; ++ix, from += rows_)
        for (int64_t kw = 0; kw < kw_count; ++kw) row[ix * kw_count + kw] = bias + from[kw];
      covered = g_.in_w * kw_count;
    }
    std::fill(row + covered, row + g_.out_w, bias);
  }

  // Output row oy of channel oc: the bias, then every tap (kh, kw) whose
  // input row iy lands on it (oy = iy * sh - pad_top + kh * dh).
  void AssembleRow(const float* c, int64_t iy_begin, int64_t oc, int64_t oy, float bias, float* row) const {
    std::fill(row, row + g_.out_w, bias);
    const int64_t grp = oc / opg_, o = oc % opg_;
    const float* c_oc = c + grp * window_rows_ * g_.in_w * rows_ + o * taps_;
    for (int64_t kh = 0; kh < g_.kernel_h; ++kh) {
      const int64_t t = oy + g_.pad_top - kh * g_.dilation_h;
      if (t < 0 || t % g_.stride_h != 0 || t / g_.stride_h >= g_.in_h) continue;
      const int64_t iy = t / g_.stride_h;
      for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
        const float* from = c_oc + kh * g_.kernel_w + kw + (iy - iy_begin) * g_.in_w * rows_;
        // ox = ix * sw + first, inside [0, out_w).
        const int64_t first = kw * g_.dilation_w - g_.pad_left;
        const int64_t ix_begin = first >= 0 ? 0 : (-first + g_.stride_w - 1) / g_.stride_w;
        const int64_t ix_end = first > g_.out_w - 1 ? 0 : std::min(g_.in_w, (g_.out_w - 1 - first) / g_.stride_w + 1);
        for (int64_t ix = ix_begin; ix < ix_end; ++ix) row[ix * g_.stride_w + first] += from[ix * rows_];
      }
    }
  }

  ConvGeometry g_;
  int64_t taps_ = 1, pixels_ = 0, opg_ = 0, ipg_ = 0, rows_ = 0;
  bool in_half_ = false, has_bias_ = false, staged_ = false, exact_cover_ = false;
  std::unique_ptr<HalfOutputStage> stage_;
  int64_t window_rows_ = 1;
  std::vector<Band> bands_;
  dnnl::matmul matmul_;  // one window of input rows
  memory::desc x_md_, c_md_;
  memory weights_;
  std::shared_ptr<const memory> packed_weights_;  // keeps weights_ alive (shared with the engine)
  int64_t private_bytes_ = 0;
  std::vector<Worker> workers_;  // one per OpenMP thread
  std::vector<float> wide_;      // the float16 input widened
};

bool PlainFloat32(const KernelInit& init, size_t i) {
  const ValueInfo* v = init.inputs[i];
  return v->dtype == DataType::FLOAT32 && !v->narrowed && !v->quant && init.ComputeOf(i) == DataType::FLOAT32 &&
         v->layout == MemoryLayout::kPlain;
}

// FLOAT32 or float16 storage in and out, NCHW and plain; a constant FLOAT32
// filter (float16 weights are rounded FLOAT32 constants) and bias; post-ops
// the output stage applies, an addend plain.
bool Supports(const KernelInit& init) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &y = init.outputs[0];
  if (!(IsHalfStorage(x) || PlainFloat32(init, 0)) || x.layout != MemoryLayout::kPlain) return false;
  if (!(IsHalfStorage(y) || (y.dtype == DataType::FLOAT32 && !y.narrowed)) || y.quant ||
      y.layout != MemoryLayout::kPlain)
    return false;
  if (!PlainFloat32(init, 1) || !init.inputs[1]->const_data) return false;
  if (init.inputs.size() > 2 && init.inputs[2] && (!PlainFloat32(init, 2) || !init.inputs[2]->const_data)) return false;
  if (init.attrs.Str("input_layout", "NCHW") != "NCHW" || init.attrs.Str("output_layout", "NCHW") != "NCHW")
    return false;
  TransposedGeometry tg;
  if (!ComputeTransposedGeometry(init.attrs, init.inputs, &tg).ok()) return false;
  const ConvGeometry& g = tg.conv;
  if (g.batch <= 0 || g.in_h <= 0 || g.in_w <= 0 || g.out_h <= 0 || g.out_w <= 0) return false;
  if (!HalfOutputStage::Supports(init)) return false;
  if (init.post_ops)
    for (const PostOp& op : *init.post_ops)
      if (op.kind == PostOp::Kind::kAdd && init.inputs[static_cast<size_t>(op.input)]->layout != MemoryLayout::kPlain)
        return false;
  return true;
}

Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvTransposeCol2Im>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv_transpose2d, onednn_col2im) {
  // Above "onednn" (10), below "onednn-bf16" (30); AVX2 for the output stage.
  mixq::ops::RegisterKernel({"onednn-col2im", mixq::OpKind::kConvTranspose2D, mixq::kernels::Isa::kAvx2, 15,
                             mixq::ops::Supports, mixq::ops::Make});
}
