// AVX2 int8 Conv2D for NCHW activations, fused end to end: int8 in, int8 /
// float32 / float16 out, without the generic wrapper's int32 / int64
// staging. Per block of output pixels a thread gathers the block's im2col
// rows (centered int16), packs them into vpmaddwd panels, multiplies the
// packed weights with them (kernels/int16_gemm: the exact int16 path of
// DESIGN rule 9, no vpmaddubsw saturation) and runs the output stage of SPEC
// §1.5 (ops/int8_output_stage.h) on each channel's row, which in NCHW is
// contiguous in the output. Bit-exact with reference-quantized: the sums are
// exact (K * 255 * 255 + |int bias| < 2^31, checked when chosen) and the
// output stage is the same float32 arithmetic.
//
// NHWC activations (small channel counts, where avx2-int8-nhwc's per-pixel
// gathers dominate) take the same path: the input is widened into the same
// planes from its strides, and the output (and any residual addend) goes
// through an NCHW copy per run, transposed in O(elements).
//
// The same kernel runs symmetric int16 operands as "avx2-int16" (the qint16
// modes): the weights split in bytes (A = 256 * hi + lo), two int32 tiles per
// 256-deep chunk combined into int64 sums (kernels::GemmInt16SplitTileAvx2),
// and the output stage over int64 rows, INT16 out. Exact, so bit-exact too.
//
// The same kernel runs as "avx2-int8-u8s8" when the weights allow:
// planes and panels of u8 (x + 128), weights packed in quads of s8,
// kernels::GemmU8S8TileAvx2's vpmaddubsw. Weights whose adjacent pairs
// satisfy |w1| + |w2| <= 128 (the 7-bit-weight policy, `int8_weight_range:
// 7bit`, guarantees it) run as they are; 8-bit weights are split into such a
// dense part and a sparse remainder (kernels::PackS8A), taken while the
// remainder costs at most kernels::kU8S8MaxRestSteps of the dense steps.
// vpmaddubsw cannot saturate on either part: exact, so bit-exact too, at
// about 1.3x the int16 path's rate (less by the remainder's steps).
//
// On AVX-512 VNNI the u8s8 form runs as "avx512vnni-int8": the same planes
// and panels, kernels::GemmU8S8TileVnni's vpdpbusd, which sums u8 x s8
// products in int32 without saturating, so 8-bit weights need no split
// (S8Split::kBytes: only a centered 128 is). Exact, so bit-exact too.
//
// With AMX-INT8 (Isa::kAmx) the same planes and panels run as "amx-int8":
// kernels::GemmU8S8TileAmx's TDPBSUD on 16 x 64 s8 weight tiles (16
// output channels per row block instead of 6) and the u8 panels as B tiles.
// Exact int32 sums, so bit-exact too. The int16 form runs there as
// "amx-int16" (kernels/int16_gemm_amx.h): B's int16 values packed
// straight into high and low byte panels, both operands' bytes as tiles,
// four tile products per 64 taps combined into int64 sums; 1 x 1 layers to
// INT16 are requantized from each block of sums
// (GemmInt16SplitTileAmxToInt16). ResNet-50 qint16 on the AMX Xeon (step
// minima): 82.7 -> 36.4 ms at 1 thread, 48.2 -> 22.5 at 2, 0.83x / 0.92x
// float32.
//
// Not taken here (the staged avx2-int8 kernel or the reference runs them):
// depthwise int8, INT16 outputs of int8 operands, BFLOAT16 outputs.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/cpu_features.h"
#include "kernels/int16_gemm.h"
#include "kernels/int16_gemm_amx.h"
#include "kernels/parallel.h"
#include "kernels/strided_copy.h"
#include "kernels/u8s8_gemm.h"
#include "kernels/u8s8_gemm_amx.h"
#include "ops/conv2d/conv_params.h"
#include "ops/conv2d/conv_rows.h"
#include "ops/conv2d/int8_conv_common.h"
#include "ops/conv2d/int_gemm_supports.h"
#include "ops/kernel_registry.h"
#include "ops/quantized_reference.h"
#include "quant/requantize.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::ops {

namespace {

constexpr int64_t kPanel = kernels::kInt16Panel;

// Rows up to this wide, at column stride 2, are widened whole into a stack
// buffer and split into their two phases from there.
constexpr int64_t kMaxStagedRow = 2048;

// Output rows narrower than this run the integer output stage once per block
// of virtual columns (see RunBlock).
constexpr int64_t kRowStageMaxWidth = 64;

// A convolution splits over threads from this many multiply-accumulates
// (over the images of a chunk): about 10-20 us of work at the 30-50 GMAC/s
// these kernels reach on small layers, several region costs now that the
// workers spin briefly before sleeping (util/omp_wait_policy.h).
constexpr int64_t kMinParallelConvMacs = int64_t{1} << 19;

// A scratch vector at least n long, never shrunk: a layer's last, narrower
// block shrank it and the next run's first block grew it back, zeroing the
// difference (up to megabytes of sums per layer: memset was 2 % of
// MobileNetV2 qint16). Every user writes what it reads.
template <typename V>
void GrowTo(V* v, int64_t n) {
  if (v->size() < static_cast<size_t>(n)) v->resize(static_cast<size_t>(n));
}

// Weights as GemmInt16TileAvx2's A, one per group: centered int16, rows the
// group's output channels, k = (c * KH + kh) * KW + kw. int16 weights: the
// high bytes in `groups`, the low ones in `low`.
// u8s8: the weights as s8 quads in `s8`.
struct PackedFilter {
  std::vector<kernels::PackedInt16A> groups, low;
  std::vector<kernels::PackedS8A> s8;
  std::vector<kernels::PackedAmxA> amx;         // amx-int8, per group
  std::vector<kernels::PackedAmxInt16A> amx16;  // amx-int16, per group
  std::vector<std::vector<int64_t>> s8_rows;    // u8s8, per group: the output channel of each packed row
};

// T: the operands' storage, int8_t (int32 sums) or int16_t (int64 sums).
// kU8S8 (int8 only): vpmaddubsw on u8 planes and s8 weights; kVnni as well:
// vpdpbusd on the same operands; kAmx: AMX tiles on them.
template <typename T, bool kU8S8 = false, bool kVnni = false, bool kAmx = false>
class ConvGemm : public Kernel {
 public:
  static constexpr bool kInt16 = sizeof(T) == 2;
  static_assert(!(kInt16 && kU8S8) && (kU8S8 || kInt16 || (!kVnni && !kAmx)) && !(kVnni && kAmx));
  // Output channels per row block of the packed weights.
  static constexpr int64_t kRowBlock = kAmx ? kernels::kAmxRows : kernels::kInt16RowBlock;
  // int16 sums: int64, or on AMX exact doubles (the stage's own start).
  using Acc = std::conditional_t<kInt16, std::conditional_t<kAmx, double, int64_t>, int32_t>;
  using Plane = std::conditional_t<kU8S8, uint8_t, int16_t>;  // planes and panels

  const char* Name() const override {
    return kAmx     ? (kInt16 ? "amx-int16" : "amx-int8")
           : kVnni  ? "avx512vnni-int8"
           : kU8S8  ? "avx2-int8-u8s8"
           : kInt16 ? "avx2-int16"
                    : "avx2-int8";
  }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }

  Status Init(const KernelInit& init) {
    std::vector<ValueInfo> logical;
    MIXQ_RETURN_IF_ERROR(ComputeConv2DGeometry(init.attrs, RealValuedInfos(init, 3, &logical), &g_));
    ic_ = g_.in_channels / g_.group;
    oc_ = g_.out_channels / g_.group;
    depth_ = g_.kernel_h * g_.kernel_w * ic_;
    pairs_ = (depth_ + 1) / 2;
    pixels_ = g_.out_h * g_.out_w;
    columns_ = pixels_;
    // Jobs: blocks of up to 64 output pixels (A is reused 64 times per
    // load), and when there are too few of them for the threads, the output
    // channels split in parts too (each part gathers its own copy of B).
    in_s_ = LogicalStrides(init.inputs[0]->shape, g_.input_axes);
    nhwc_in_ = in_s_[1] == 1 && g_.in_channels > 1;
    nhwc_out_ = init.attrs.Str("output_layout") == "NHWC" && g_.out_channels > 1;
    if (nhwc_out_) {
      addend_inputs_.clear();
      if (init.post_ops)
        for (const PostOp& op : *init.post_ops)
          if (op.kind == PostOp::Kind::kAdd) addend_inputs_.push_back(op.input);
    }
    pointwise_ = !nhwc_in_ && g_.kernel_h == 1 && g_.kernel_w == 1 && g_.stride_h == 1 && g_.stride_w == 1 &&
                 g_.pad_top == 0 && g_.pad_left == 0 && g_.pad_bottom == 0 && g_.pad_right == 0;
    // Columns per job: 4 panels where a K chunk of B fills L1 with them (8
    // KiB per panel at depth >= 512); shallower B takes up to 16 panels in
    // the same 24 KiB, so the output stage runs longer rows (a 1x1
    // convolution of 16 channels: 256 pixels per row instead of 64) and its
    // per-row costs amortize, while the job's int32 sums (every output
    // channel of the group times the columns) stay within 64 KiB: more
    // channels keep shorter rows (MobileNetV2's 1x1 64 -> 384 at 14x14 ran
    // 0.11 -> 0.17 ms with 12 panels).
    const int64_t chunk_steps = std::min<int64_t>(kU8S8 ? (depth_ + 3) / 4 : pairs_, 128);
    const int64_t sum_bytes_per_panel = oc_ * kPanel * static_cast<int64_t>(sizeof(Acc));
    block_panels_ = std::clamp<int64_t>(std::min(24 * 1024 / (chunk_steps * 64), 64 * 1024 / sum_bytes_per_panel), 4,
                                        block_panels_max_);
    // amx-int16 on shallow products (ResNet-50's 64-deep 1 x 1 layers and
    // its stem): the int64 rows of the output stage cost as much as the
    // tiles, so up to 16 panels (512 KiB of sums) per job make them longer
    // (ResNet-50 qint16 0.98x the time at 1 and 2 threads, step minima).
    if (kAmx && kInt16 && depth_ <= 160)
      block_panels_ = std::clamp<int64_t>(512 * 1024 / sum_bytes_per_panel, 4, block_panels_max_);
    if (!pointwise_) PlanPlanes();
    row_blocks_ = (oc_ + kRowBlock - 1) / kRowBlock;
    const int64_t pixel_panels = (columns_ + kPanel - 1) / kPanel;
    const int64_t threads = std::max(1, omp_get_max_threads());
    blocks_per_image_ = (pixel_panels + block_panels_ - 1) / block_panels_;
    row_parts_ = 1;
    while (g_.batch * blocks_per_image_ * row_parts_ < 2 * threads && row_parts_ < row_blocks_) ++row_parts_;

    const ValueInfo& w = *init.inputs[1];
    stage_.Init(init, g_);
    const AxisMap& fa = g_.filter_axes;
    const auto f_s = LogicalStrides(w.shape, fa);
    auto pack = [&, f_s](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<PackedFilter>();
      packed->groups.resize(static_cast<size_t>(g_.group));
      if (kInt16) packed->low.resize(static_cast<size_t>(g_.group));
      if (kU8S8) packed->s8.resize(static_cast<size_t>(g_.group));
      if (kU8S8) packed->s8_rows.resize(static_cast<size_t>(g_.group));
      if (kAmx && kInt16) packed->amx16.resize(static_cast<size_t>(g_.group));
      if (kAmx && !kInt16) packed->amx.resize(static_cast<size_t>(g_.group));
      *bytes = 0;
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        auto value = [&](int64_t row, int64_t k) {
          return static_cast<int16_t>(CenteredWeight<T>(w, g_, f_s, grp, row, k));
        };
        const size_t at = static_cast<size_t>(grp);
        if (kAmx && kInt16) {  // both operands split in bytes (kernels/int16_gemm_amx.h)
          kernels::PackAmxInt16A(oc_, depth_, value, &packed->amx16[at]);
          *bytes += static_cast<int64_t>(2 * packed->amx16[at].hi.data.size());
          continue;
        }
        if (kAmx) {  // FitsS8 held when chosen
          kernels::PackAmxA(CenteredFilter(w, g_, grp).data(), oc_, depth_, depth_, &packed->amx[at]);
          *bytes += static_cast<int64_t>(packed->amx[at].data.size());
          continue;
        }
        if (kU8S8) {  // U8S8SplitShare held when chosen: centered values in [-128, 128], split where needed
          kernels::PackS8ASortedRows(CenteredFilter(w, g_, grp).data(), oc_, depth_, depth_, &packed->s8[at],
                                     &packed->s8_rows[at], 0,
                                     kVnni ? kernels::S8Split::kBytes : kernels::S8Split::kPairs);
          *bytes += static_cast<int64_t>(packed->s8[at].data.size() * sizeof(int32_t));
          continue;
        }
        if (kInt16) {  // zero points are 0 (FusedInt16ConvSupports): the centered value is the code
          kernels::PackInt16A(
              oc_, depth_, [&](int64_t r, int64_t k) { return static_cast<int16_t>(value(r, k) >> 8); },
              &packed->groups[at]);
          kernels::PackInt16A(
              oc_, depth_, [&](int64_t r, int64_t k) { return static_cast<int16_t>(value(r, k) & 0xFF); },
              &packed->low[at]);
          *bytes += static_cast<int64_t>(packed->low[at].data.size() * sizeof(int32_t));
        } else {
          kernels::PackInt16A(oc_, depth_, value, &packed->groups[at]);
        }
        *bytes += static_cast<int64_t>(packed->groups[at].data.size() * sizeof(int32_t));
      }
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    if (init.weights) {
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(init.weight_key + (kAmx     ? (kInt16 ? "/amx-int16" : "/amx-int8")
                                                                        : kVnni  ? "/avx512vnni-int8"
                                                                        : kU8S8  ? "/avx2-int8-u8s8"
                                                                        : kInt16 ? "/avx2-int16-gemm"
                                                                                 : "/avx2-int8-gemm"),
                                                     pack, &packed));
    } else {
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    }
    filter_ = std::static_pointer_cast<const PackedFilter>(packed);

    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    if (!nhwc_out_) return RunNchwOut(in, out[0]);
    // NHWC output: the NCHW path into a copy, residual addends read from
    // NCHW copies, then one transpose into place.
    std::vector<TensorView>& nchw_in = nchw_in_;
    nchw_in.assign(in.begin(), in.end());  // the member keeps its capacity: no allocation per run
    const int64_t out_hw = g_.out_h * g_.out_w;
    addend_copies_.resize(addend_inputs_.size());
    for (size_t a = 0; a < addend_inputs_.size(); ++a) {
      TensorView& v = nchw_in[static_cast<size_t>(addend_inputs_[a])];
      addend_copies_[a].resize(v.Bytes());
      TransposeChannels(v.data, addend_copies_[a].data(), g_.batch, out_hw, g_.out_channels, DataTypeSize(v.dtype));
      v.data = addend_copies_[a].data();
    }
    TensorView y = out[0];
    output_copy_.resize(y.Bytes());
    y.data = output_copy_.data();
    MIXQ_RETURN_IF_ERROR(RunNchwOut(nchw_in, y));
    TransposeChannels(output_copy_.data(), out[0].data, g_.batch, g_.out_channels, out_hw, DataTypeSize(y.dtype));
    return Status::OK();
  }

 private:
  // [n][a][b] -> [n][b][a] for elements of `size` bytes (NHWC <-> NCHW with
  // a, b = pixels, channels or the reverse).
  // Blocked register-tile transposes (kernels/strided_copy.h): a byte at a
  // time these copies cost as much as a small convolution's arithmetic. The
  // plans, planned once per shape, are kept (their planning allocates).
  void TransposeChannels(const void* src, void* dst, int64_t batch, int64_t a_count, int64_t b_count, size_t size) {
    const std::array<int64_t, 4> key = {batch, a_count, b_count, static_cast<int64_t>(size)};
    for (const auto& [k, plan] : transposes_)
      if (k == key) return plan.Run(src, dst);
    transposes_.emplace_back(key, kernels::StridedCopyPlan({batch, b_count, a_count}, {a_count * b_count, 1, b_count},
                                                           0, size, kernels::BestIsa() >= kernels::Isa::kAvx2));
    transposes_.back().second.Run(src, dst);
  }

  Status RunNchwOut(const std::vector<TensorView>& in, const TensorView& y) {
    const TensorView& x = in[0];
    stage_.Prepare(in, y);
    if constexpr (kAmx || kInt16) PrepareDirectStage();
    const int32_t x_zp = x.quant->zero_point;
    const int64_t image_jobs = blocks_per_image_ * row_parts_;
    const int threads = std::max(1, omp_get_max_threads());
    if (scratch_.size() < static_cast<size_t>(threads)) scratch_.resize(static_cast<size_t>(threads));
    const auto* xs = x.Data<const T>();
    const int64_t image_macs = depth_ * pixels_ * oc_ * g_.group;
    // Images run in chunks (chunk_images_ of them share planes_): one
    // parallel region per chunk over every (image, block, row part) job, so
    // that a batch of small images shares out as well as one large image.
    for (int64_t n0 = 0; n0 < g_.batch; n0 += chunk_images_) {
      const int64_t images = std::min(chunk_images_, g_.batch - n0);
      const int64_t jobs = images * image_jobs;
      const bool parallel = jobs > 1 && images * image_macs > kMinParallelConvMacs;
      if (!pointwise_) {
        // u8 planes: the pads hold the zero point (as u8) so that they add
        // 0 to the centered sums; refilled when the zero point changes.
        if (kU8S8 && planes_fill_ != x_zp + 128) {
          planes_fill_ = x_zp + 128;
          std::fill(planes_.begin(), planes_.end(), static_cast<Plane>(planes_fill_));
        }
        Widen(xs + n0 * in_s_[0], images, x_zp,
              images * g_.in_channels * g_.in_h * g_.in_w > 4 * kernels::kMinParallelElements);
      }
      auto run_job = [&](int64_t job) {
        Scratch& s = scratch_[static_cast<size_t>(omp_get_thread_num())];
        const int64_t i = job / image_jobs, image_job = job % image_jobs;
        const int64_t part = image_job % row_parts_, block = image_job / row_parts_;
        const int64_t first = block * block_panels_ * kPanel;
        const int64_t cols = std::min(block_panels_ * kPanel, columns_ - first);
        RunBlock(xs + (n0 + i) * in_s_[0], planes_.data() + i * image_planes_, x_zp, n0 + i, first, cols,
                 row_blocks_ * part / row_parts_, row_blocks_ * (part + 1) / row_parts_, y, &s);
      };
      // Many jobs: each thread the same contiguous columns (pixels) in every
      // layer, so the next step reads them from its own core's caches (as
      // the float16 pointwise kernel, conv2d/cpu_half_pw.cc); few: dynamic.
      if (jobs >= 4 * threads) {
#pragma omp parallel for schedule(static) if (parallel)
        for (int64_t job = 0; job < jobs; ++job) run_job(job);
      } else {
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
        for (int64_t job = 0; job < jobs; ++job) run_job(job);
      }
    }
    return Status::OK();
  }

  struct Scratch {
    std::vector<Plane> panels;
    std::vector<Acc> acc;
    std::vector<unsigned char> row_out;       // a block's integer output row, virtual columns included
    std::vector<uint8_t> split_hi, split_lo;  // amx-int16: the panels' high and low bytes
  };

  // The implicit im2col (non-1x1 convolutions): each input channel once per
  // image as a zero-padded, centered int16 plane split by stride phase
  // (phase (qh, qw) holds padded rows qh, qh + sh, ... and columns qw, qw +
  // sw, ...). Output pixel (oh, ow) is virtual column v = oh * phase_w_ + ow,
  // and for every tap (c, kh, kw) the values it multiplies sit at
  // offsets_[k] + v: one contiguous row per tap, no gather. Columns with ow >=
  // out_w are computed and dropped.
  void PlanPlanes() {
    const int64_t sh = g_.stride_h, sw = g_.stride_w;
    const int64_t padded_h = g_.in_h + g_.pad_top + g_.pad_bottom, padded_w = g_.in_w + g_.pad_left + g_.pad_right;
    phase_w_ = std::max((padded_w + sw - 1) / sw, g_.out_w + (g_.kernel_w - 1) * g_.dilation_w / sw);
    phase_h_ = std::max((padded_h + sh - 1) / sh, g_.out_h + (g_.kernel_h - 1) * g_.dilation_h / sh) + 1;
    channel_plane_ = sh * sw * phase_h_ * phase_w_;
    columns_ = g_.out_h * phase_w_;
    offsets_.resize(static_cast<size_t>(g_.group * depth_));
    phase_used_.assign(static_cast<size_t>(sh * sw), 0);
    phase_columns_.resize(static_cast<size_t>(sw));
    for (int64_t qw = 0; qw < sw; ++qw) {
      PhaseColumn& col = phase_columns_[static_cast<size_t>(qw)];
      col.start = ((qw - g_.pad_left) % sw + sw) % sw;  // the first iw in phase column qw
      col.count = (g_.in_w - col.start + sw - 1) / sw;
      col.dst = (col.start + g_.pad_left) / sw;
    }
    for (int64_t grp = 0; grp < g_.group; ++grp)
      for (int64_t c = 0; c < ic_; ++c)
        for (int64_t kh = 0; kh < g_.kernel_h; ++kh)
          for (int64_t kw = 0; kw < g_.kernel_w; ++kw) {
            const int64_t rh = kh * g_.dilation_h, rw = kw * g_.dilation_w;
            phase_used_[static_cast<size_t>((rh % sh) * sw + rw % sw)] = 1;
            offsets_[static_cast<size_t>(grp * depth_ + (c * g_.kernel_h + kh) * g_.kernel_w + kw)] =
                (grp * ic_ + c) * channel_plane_ + ((rh % sh) * sw + rw % sw) * phase_h_ * phase_w_ +
                (rh / sh) * phase_w_ + rw / sw;
          }
    // Panels read whole 16-column groups: slack past the last plane. A
    // chunk of images shares the planes while they fit in 1 MiB (at least
    // one image).
    image_planes_ = g_.in_channels * channel_plane_;
    chunk_images_ = std::clamp<int64_t>((int64_t{1} << 20) / std::max<int64_t>(1, image_planes_ * sizeof(Plane)), 1,
                                        std::max<int64_t>(1, g_.batch));
    planes_.assign(static_cast<size_t>(chunk_images_ * image_planes_ + 4 * kPanel * block_panels_), 0);
    planes_fill_ = 0;
  }

  // The AMX form's output stage from the C tiles: the plain int8
  // stage's per-channel constants as arrays, when every one is finite (else
  // the row stage's scalar formula runs through the int32 sums).
  //
  // The same for int16 operands (PlainInt16), taken by 1 x 1 convolutions
  // on AVX-512 VNNI: kernels::GemmInt16SplitTileVnniToInt16 requantizes the
  // final sums in registers instead of writing int64 rows for
  // RequantizeRow64ToInt16 (which took 14 % of MobileNetV2 qint16's time,
  // reading 8 bytes per output).
  void PrepareDirectStage() {
    direct_stage_ = false;
    const ChannelStage* stages = kInt16 ? (pointwise_ && depth_ < kernels::kInt16DirectMaxDepth &&
                                                   kernels::BestIsa() >= kernels::Isa::kAvx512Vnni
                                               ? stage_.PlainInt16(&direct_zero_point_, &direct_lo_, &direct_hi_)
                                               : nullptr)
                                        : stage_.PlainInt8(&direct_zero_point_, &direct_lo_, &direct_hi_);
    if (!stages) return;
    const auto channels = static_cast<size_t>(g_.out_channels);
    direct_int_bias_.resize(channels);
    direct_bias_.resize(channels);
    direct_multiplier_.resize(channels);
    for (size_t c = 0; c < channels; ++c) {
      if (!StageIsFinite(stages[c])) return;
      direct_int_bias_[c] = stages[c].int_bias;
      direct_bias_[c] = stages[c].bias;
      direct_multiplier_[c] = stages[c].multiplier;
    }
    direct_stage_ = true;
  }
  // The direct stage's constants for the row blocks [first_block,
  // last_block) of group `grp` into an epilogue (kernels::AmxInt8Epilogue or
  // Int16RequantEpilogue): per-channel arrays from the blocks' first
  // channel, which it returns, the output's zero point and clamp, the rows
  // that are output channels (not padding).
  template <typename Epilogue>
  int64_t DirectStageOf(int64_t grp, int64_t first_block, int64_t last_block, Epilogue* e) const {
    const int64_t channel0 = grp * oc_ + first_block * kRowBlock;
    e->int_bias = direct_int_bias_.data() + channel0;
    e->bias = direct_bias_.data() + channel0;
    e->multiplier = direct_multiplier_.data() + channel0;
    e->zero_point = direct_zero_point_;
    e->lo = direct_lo_;
    e->hi = direct_hi_;
    e->rows = std::min(oc_, last_block * kRowBlock) - first_block * kRowBlock;
    return channel0;
  }

  // Each channel's rows of `images` images into their planes. NHWC input
  // is first transposed to NCHW (one blocked transpose), so that every row
  // is read contiguously; other strides are read as they are.
  void Widen(const T* first_image, int64_t images, int32_t zp, bool parallel) {
    const int64_t plane = g_.in_h * g_.in_w;
    if (nhwc_in_ && in_s_[3] == g_.in_channels && in_s_[2] == g_.in_w * g_.in_channels &&
        in_s_[0] == plane * g_.in_channels) {
      input_copy_.resize(static_cast<size_t>(images * g_.in_channels * plane));
      TransposeChannels(first_image, input_copy_.data(), images, plane, g_.in_channels, sizeof(T));
      return WidenRows<true>(input_copy_.data(), images, g_.in_channels * plane, plane, g_.in_w, zp, parallel);
    }
    if (in_s_[3] == 1)
      WidenRows<true>(first_image, images, in_s_[0], in_s_[1], in_s_[2], zp, parallel);
    else
      WidenRows<false>(first_image, images, in_s_[0], in_s_[1], in_s_[2], zp, parallel);
  }

  // image_stride / channel_stride / row_stride: of the images from `first`
  // (the pixel stride is in_s_[3], or 1 when kContiguous).
  template <bool kContiguous>
  __attribute__((target("avx2"))) void WidenRows(const T* first, int64_t images, int64_t image_stride,
                                                 int64_t channel_stride, int64_t row_stride, int32_t zp,
                                                 bool parallel) {
    // Locals: the planes' stores (u8) may alias any member as far as the
    // compiler knows, which kept the row loops scalar.
    const int64_t sh = g_.stride_h, sw = g_.stride_w, ws = kContiguous ? 1 : in_s_[3];
    const int64_t in_h = g_.in_h, in_w = g_.in_w, pad_top = g_.pad_top, pad_left = g_.pad_left;
    const int64_t channels = g_.in_channels, channel_plane = channel_plane_, phase_plane = phase_h_ * phase_w_;
    const int64_t phase_w = phase_w_, image_planes = image_planes_;
    const char* phase_used = phase_used_.data();
    const PhaseColumn* columns = phase_columns_.data();
    Plane* planes = planes_.data();
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t nc = 0; nc < images * channels; ++nc) {
      const int64_t i = nc / channels, c = nc % channels;
      // Pads stay as PlanPlanes / RunNchwOut left them: the real 0 (centered, or the zero point in u8).
      Plane* dst_c = planes + i * image_planes + c * channel_plane;
      const T* src_c = first + i * image_stride + c * channel_stride;
      // Padded row r = ih + pad_top sits in row phase qh = r % sh, at row rh = r / sh
      // of it: tracked without a division per row.
      int64_t qh = pad_top % sh, rh = pad_top / sh;
      for (int64_t ih = 0; ih < in_h; ++ih) {
        const T* line = src_c + ih * row_stride;
        const char* used = phase_used + qh * sw;
        Plane* row_base = dst_c + qh * sw * phase_plane + rh * phase_w;
        if (sw == 1) {
          if (used[0]) WidenLine(line, ws, in_w, zp, row_base + pad_left);
        } else if (kU8S8 && kContiguous && sw == 2 && in_w <= kMaxStagedRow) {
          // The row once into the buffer (32 bytes of slack: EvenBytes may
          // read one past it), then each used phase's even bytes.
          alignas(32) uint8_t staged[kMaxStagedRow + 32];
          if constexpr (kU8S8) FlipRowToU8(line, in_w, staged);
          for (int64_t qw = 0; qw < 2; ++qw)
            if (used[qw] && columns[qw].count > 0)
              EvenBytes(staged + columns[qw].start, columns[qw].count,
                        reinterpret_cast<uint8_t*>(row_base + qw * phase_plane + columns[qw].dst));
        } else {
          for (int64_t qw = 0; qw < sw; ++qw) {
            const PhaseColumn& col = columns[qw];
            if (!used[qw] || col.count <= 0)
              continue;  // no tap reads this phase (a 1x1 strided convolution uses one of sh * sw)
            WidenLine(line + col.start * ws, ws * sw, col.count, zp, row_base + qw * phase_plane + col.dst);
          }
        }
        if (++qh == sh) qh = 0, ++rh;
      }
    }
  }

  // count values at src, src + stride, ... -> dst[0, count).
  __attribute__((target("avx2"))) static void WidenLine(const T* __restrict src, int64_t stride, int64_t count,
                                                        int32_t zp, Plane* __restrict dst) {
    if (stride == 1) {
      if constexpr (kU8S8)
        FlipRowToU8(src, count, dst);
      else
        CenterRowToS16(src, count, zp, dst);
      return;
    }
    if constexpr (!kU8S8) {
      if (stride == 2) return EvenRowToS16(src, count, zp, dst);
    }
    for (int64_t t = 0; t < count; ++t) dst[t] = PlaneValue(src[t * stride], zp);
  }

  // centered int16 (x - zp), or the u8 x + 128 (x ^ 0x80) whose zero point is zp + 128.
  static Plane PlaneValue(T x, int32_t zp) {
    if constexpr (kU8S8)
      return static_cast<uint8_t>(static_cast<uint8_t>(x) ^ 0x80);
    else
      return static_cast<int16_t>(x - zp);
  }

  // Columns [first, first + cols) of image n (output pixels, or virtual
  // columns of the implicit im2col), for the row blocks [first_block,
  // last_block) of each group's output channels: pack, multiply, output stage.
  void RunBlock(const T* image, const Plane* planes, int32_t x_zp, int64_t n, int64_t first, int64_t cols,
                int64_t first_block, int64_t last_block, const TensorView& y, Scratch* s) {
    const int64_t padded = (cols + kPanel - 1) / kPanel * kPanel;
    GrowTo(&s->panels, (kU8S8 ? (depth_ + 3) / 4 * 4 : pairs_ * 2) * padded + (kAmx ? kernels::kAmxPanelSlack : 0));
    GrowTo(&s->acc, (last_block - first_block) * kRowBlock * padded);
    const int64_t plane = g_.in_h * g_.in_w;
    for (int64_t grp = 0; grp < g_.group; ++grp) {
      if constexpr (kU8S8) {
        if (pointwise_)
          kernels::PackS8RowsAsU8PanelsAvx2(image + grp * ic_ * plane + first, plane, depth_, cols, s->panels.data());
        else
          kernels::PackU8PanelsFromOffsetsAvx2(planes + first, offsets_.data() + grp * depth_, depth_, cols,
                                               s->panels.data());
        if constexpr (kAmx) {
          if (direct_stage_) {  // requantized from the C tiles: no int32 sums in memory
            kernels::AmxInt8Epilogue e;
            const int64_t channel0 = DirectStageOf(grp, first_block, last_block, &e);
            e.out = y.Data<int8_t>() + (n * g_.out_channels + channel0) * pixels_;
            e.ld_out = pixels_;
            e.cols = cols;
            e.first = first;
            e.phase_w = pointwise_ ? 0 : phase_w_;
            e.out_w = g_.out_w;
            kernels::GemmU8S8TileAmxToInt8(filter_->amx[static_cast<size_t>(grp)], first_block, last_block,
                                           s->panels.data(), padded / kPanel, x_zp + 128, e);
            continue;
          }
          kernels::GemmU8S8TileAmx(filter_->amx[static_cast<size_t>(grp)], first_block, last_block, s->panels.data(),
                                   padded / kPanel, x_zp + 128, s->acc.data(), padded);
        } else
          (kVnni ? kernels::GemmU8S8TileVnni : kernels::GemmU8S8TileAvx2)(
              filter_->s8[static_cast<size_t>(grp)], first_block, last_block, s->panels.data(), padded / kPanel,
              x_zp + 128, s->acc.data(), padded);
      } else if constexpr (kInt16) {
        if constexpr (!kAmx) {
          if (pointwise_)  // B is the image itself (symmetric: the codes are the centered values)
            kernels::PackInt16PanelsAvx2(image + grp * ic_ * plane + first, plane, depth_, cols, s->panels.data());
          else
            kernels::PackInt16PanelsFromOffsetsAvx2(planes + first, offsets_.data() + grp * depth_, depth_, cols,
                                                    s->panels.data());
        }
        if constexpr (kAmx) {  // B's high and low bytes packed straight from the image or the planes
          const int64_t split = (depth_ + 3) / 4 * 64 * (padded / kPanel) + kernels::kAmxPanelSlack;
          GrowTo(&s->split_hi, split);
          GrowTo(&s->split_lo, split);
          if (pointwise_)
            kernels::PackSplitInt16RowsAmx(image + grp * ic_ * plane + first, plane, depth_, cols, s->split_hi.data(),
                                           s->split_lo.data());
          else
            kernels::PackSplitInt16FromOffsetsAmx(planes + first, offsets_.data() + grp * depth_, depth_, cols,
                                                  s->split_hi.data(), s->split_lo.data());
          const auto& a = filter_->amx16[static_cast<size_t>(grp)];
          if (direct_stage_) {  // requantized from the tiles' sums: no int64 sums in memory
            kernels::Int16RequantEpilogue e;
            const int64_t channel0 = DirectStageOf(grp, first_block, last_block, &e);
            e.out = y.Data<int16_t>() + (n * g_.out_channels + channel0) * pixels_ + first;
            e.ld_out = pixels_;
            e.cols = cols;
            kernels::GemmInt16SplitTileAmxToInt16(a, first_block, last_block, s->split_hi.data(), s->split_lo.data(),
                                                  padded / kPanel, e);
            continue;
          }
          kernels::GemmInt16SplitTileAmxToDouble(a, first_block, last_block, s->split_hi.data(), s->split_lo.data(),
                                                 padded / kPanel, s->acc.data(), padded);
        } else if (direct_stage_) {  // requantized from the registers: no int64 sums in memory
          kernels::Int16RequantEpilogue e;
          const int64_t channel0 = DirectStageOf(grp, first_block, last_block, &e);
          e.out = y.Data<int16_t>() + (n * g_.out_channels + channel0) * pixels_ + first;
          e.ld_out = pixels_;
          e.cols = cols;
          kernels::GemmInt16SplitTileVnniToInt16(filter_->groups[static_cast<size_t>(grp)],
                                                 filter_->low[static_cast<size_t>(grp)], first_block, last_block,
                                                 s->panels.data(), padded / kPanel, s->acc.data(), padded, e);
          continue;
        } else {
          kernels::GemmInt16SplitTileAvx2(filter_->groups[static_cast<size_t>(grp)],
                                          filter_->low[static_cast<size_t>(grp)], first_block, last_block,
                                          s->panels.data(), padded / kPanel, s->acc.data(), padded);
        }
      } else {
        if (pointwise_)  // B is the image itself: rows of pixels per channel
          kernels::PackInt8PanelsAvx2(image + grp * ic_ * plane + first, plane, depth_, cols, x_zp, s->panels.data());
        else
          kernels::PackInt16PanelsFromOffsetsAvx2(planes + first, offsets_.data() + grp * depth_, depth_, cols,
                                                  s->panels.data());
        kernels::GemmInt16TileAvx2(filter_->groups[static_cast<size_t>(grp)], first_block, last_block, s->panels.data(),
                                   padded / kPanel, s->acc.data(), padded);
      }
      const int64_t first_row = first_block * kRowBlock;
      const int64_t last_row = std::min(oc_, last_block * kRowBlock);
      const int64_t* channel_of = kU8S8 && !kAmx ? filter_->s8_rows[static_cast<size_t>(grp)].data() : nullptr;
      const bool row_stage = !pointwise_ && g_.out_w < kRowStageMaxWidth && stage_.PositionFree();
      const int64_t out_size = static_cast<int64_t>(DataTypeSize(y.dtype));
      if (row_stage) GrowTo(&s->row_out, cols * out_size);
      if constexpr (std::is_same_v<Acc, double>) {
        if (pointwise_) {  // every row of the block in one call (the stage's setup once)
          const int64_t o = grp * oc_ + first_row;
          stage_.RowsOfSums(o, last_row - first_row, s->acc.data(), padded, cols,
                            (n * g_.out_channels + o) * pixels_ + first, pixels_, y);
          continue;
        }
      }
      for (int64_t row = first_row; row < last_row; ++row) {
        const int64_t o = grp * oc_ + (channel_of ? channel_of[row] : row);
        const Acc* acc = s->acc.data() + (row - first_row) * padded;
        const int64_t image_at = (n * g_.out_channels + o) * pixels_;
        if (pointwise_) {
          stage_.Row(o, acc, cols, image_at + first, y);
          continue;
        }
        if (row_stage) {
          // Narrow output rows: the integer stage over the block's virtual
          // columns in one call (the dropped ones included), then each
          // output row's valid part copied out, instead of a call per row.
          TensorView row = y;
          row.data = s->row_out.data();
          stage_.Row(o, acc, cols, 0, row);
          for (int64_t v = first; v < first + cols;) {
            const int64_t oh = v / phase_w_, ow = v % phase_w_;
            const int64_t row_end = std::min((oh + 1) * phase_w_, first + cols);
            const int64_t valid_end = std::min(oh * phase_w_ + g_.out_w, row_end);
            if (v < valid_end)
              std::memcpy(static_cast<unsigned char*>(y.data) + (image_at + oh * g_.out_w + ow) * out_size,
                          s->row_out.data() + (v - first) * out_size, static_cast<size_t>((valid_end - v) * out_size));
            v = row_end;
          }
          continue;
        }
        for (int64_t v = first; v < first + cols;) {  // one output row's valid part at a time
          const int64_t oh = v / phase_w_, ow = v % phase_w_;
          const int64_t row_end = std::min((oh + 1) * phase_w_, first + cols);
          const int64_t valid_end = std::min(oh * phase_w_ + g_.out_w, row_end);
          if (v < valid_end) stage_.Row(o, acc + (v - first), valid_end - v, image_at + oh * g_.out_w + ow, y);
          v = row_end;
        }
      }
    }
  }

  ConvGeometry g_;
  std::array<int64_t, 4> in_s_{};  // the input's logical strides (N, C, H, W)
  bool nhwc_in_ = false, nhwc_out_ = false;
  std::vector<T> input_copy_;  // an NHWC image transposed to NCHW (Widen)
  std::vector<std::pair<std::array<int64_t, 4>, kernels::StridedCopyPlan>> transposes_;  // by (batch, a, b, size)
  std::vector<TensorView> nchw_in_;                                                      // Run's NCHW inputs
  std::vector<int> addend_inputs_;  // NHWC output: residual addends to copy to NCHW
  std::vector<std::vector<unsigned char>> addend_copies_;
  std::vector<unsigned char> output_copy_;
  int64_t ic_ = 0, oc_ = 0, depth_ = 0, pairs_ = 0, pixels_ = 0, block_panels_ = 1, blocks_per_image_ = 1;
  int64_t row_blocks_ = 1, row_parts_ = 1;
  bool pointwise_ = false;  // 1x1, stride 1, no padding: no im2col
  static constexpr int64_t block_panels_max_ = 16;
  // PrepareDirectStage's arrays (per output channel) and the stage's
  // constants, for the AMX int8 form or the int16 form on AVX-512 VNNI.
  bool direct_stage_ = false;
  int32_t direct_zero_point_ = 0, direct_lo_ = -128, direct_hi_ = 127;
  std::vector<int32_t> direct_int_bias_;
  std::vector<float> direct_bias_, direct_multiplier_;
  int64_t image_planes_ = 0, chunk_images_ = 1;  // planes_ per image; images per chunk
  int64_t columns_ = 0;  // output pixels, or virtual columns (out_h * phase_w_) of the implicit im2col
  int64_t phase_w_ = 0, phase_h_ = 0, channel_plane_ = 0;
  std::vector<int64_t> offsets_;  // per group and tap: where its row starts in planes_
  std::vector<char> phase_used_;  // per stride phase (qh * sw + qw): read by some tap
  // Per column phase qw: the input columns iw = start, start + sw, ... (count
  // of them) widen to the phase row's columns dst, dst + 1, ...
  struct PhaseColumn {
    int64_t start = 0, count = 0, dst = 0;
  };
  std::vector<PhaseColumn> phase_columns_;
  std::vector<Plane> planes_;  // the padded, phase-split input planes of the chunk of images being run
  int32_t planes_fill_ = 0;    // the value planes_' pads hold
  std::shared_ptr<const PackedFilter> filter_;
  int64_t private_bytes_ = 0;
  Int8ConvOutputStage stage_;
  std::vector<Scratch> scratch_;
};

template <typename T, bool kU8S8 = false, bool kVnni = false, bool kAmx = false>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<ConvGemm<T, kU8S8, kVnni, kAmx>>();
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

MIXQ_REGISTER_KERNELS(conv2d, avx2_gemm) {
  mixq::ops::RegisterKernel({"avx2-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::int_gemm::Supports, mixq::ops::Make<int8_t>});
  // Above avx2-int8 where the weights allow it (7-bit, or a sparse remainder).
  mixq::ops::RegisterKernel({"avx2-int8-u8s8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 25,
                             mixq::ops::int_gemm::SupportsU8S8, mixq::ops::Make<int8_t, true>});
  // Above both where the CPU has AVX-512 VNNI: every 8-bit weight, exact.
  mixq::ops::RegisterKernel({"avx512vnni-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx512Vnni, 30,
                             mixq::ops::int_gemm::SupportsVnni, mixq::ops::Make<int8_t, true, true>});
  // Above all where the CPU has AMX-INT8: weights s8 holds (a centered 128 goes to avx512vnni-int8).
  mixq::ops::RegisterKernel({"amx-int8", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 35,
                             mixq::ops::int_gemm::SupportsAmx, mixq::ops::Make<int8_t, true, false, true>});
  // Above the staged avx2-int16 (10) of conv2d/cpu_avx2.cc, which keeps what this one declines.
  mixq::ops::RegisterKernel({"avx2-int16", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAvx2, 20,
                             mixq::ops::int_gemm::Supports16, mixq::ops::Make<int16_t>});
  // Above it where the CPU has AMX-INT8: both int16 operands split in bytes, four tile products.
  mixq::ops::RegisterKernel({"amx-int16", mixq::OpKind::kConv2D, mixq::kernels::Isa::kAmx, 30,
                             mixq::ops::int_gemm::SupportsAmx16, mixq::ops::Make<int16_t, false, false, true>});
}
