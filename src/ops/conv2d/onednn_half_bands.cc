#include "ops/conv2d/onednn_half_bands.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <unordered_map>

#include "kernels/half_io.h"
#include "ops/onednn_support.h"
#include "ops/op_util.h"

namespace mixq::ops {

namespace {

using dnnl::memory;

// A tensor whose float32 copy fits in L2 gains nothing from bands: at one
// thread it pays a call per band (14 x 14 layers of 384-960 channels:
// +0.02-0.035 ms each on AMD Zen 4); at two, oneDNN's own split of the
// whole tensor runs faster than single-threaded calls on small bands
// (ResNet-50's 14 x 14 layers 0.37 against 0.43 ms, 7 x 7 0.48 against
// 0.50; Intel Xeon, step minima).
constexpr int64_t kMinBandedBytes = 1536 * 1024;

// The cost model of one job, in multiply-add units: widening one input value
// and passing one output value through the output stage each cost about as
// much as this many multiply-adds, and a oneDNN call (memory objects,
// execute, its jit kernel's set-up) about kCallCost.
constexpr double kWidenCost = 8.0, kStageCost = 12.0, kCallCost = 3.0e5;

double JobCost(int64_t rows, int64_t w, int64_t in_c, int64_t group_c) {
  const double pixels = static_cast<double>(rows * w);
  return pixels * (static_cast<double>(in_c * group_c) + kWidenCost * static_cast<double>(in_c) +
                   kStageCost * static_cast<double>(group_c)) +
         kCallCost;
}

// When the last of the plan's jobs ends, dealt in order (band-major) to
// whichever thread is free first, as schedule(dynamic, 1) deals them.
double Makespan(int64_t h, int64_t w, int64_t in_c, int64_t group_c, int64_t rows, int64_t groups, int threads) {
  std::vector<double> busy(static_cast<size_t>(threads), 0.0);
  for (int64_t h0 = 0; h0 < h; h0 += rows) {
    const double cost = JobCost(std::min(rows, h - h0), w, in_c, group_c);
    for (int64_t g = 0; g < groups; ++g) *std::min_element(busy.begin(), busy.end()) += cost;
  }
  return *std::max_element(busy.begin(), busy.end());
}

// `pixels` pixels of 16 float16 channels, `stride` elements apart, widened
// into consecutive float32 pixels: a strided pointwise convolution's input
// row, only the pixels it reads.
__attribute__((target("avx2,f16c"))) void WidenPixels(const uint16_t* x, int64_t stride, int64_t pixels, float* y) {
  for (int64_t p = 0; p < pixels; ++p, x += stride, y += 16) {
    _mm256_storeu_ps(y, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))));
    _mm256_storeu_ps(y + 8, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 8))));
  }
}

bool plan_forced = false;
HalfBandPlan forced_plan;

}  // namespace

void SetHalfBandPlanForTesting(const HalfBandPlan* plan) {
  plan_forced = plan != nullptr;
  if (plan) forced_plan = *plan;
}

HalfBandPlan ChooseHalfBandPlan(int64_t h, int64_t w, int64_t in_c, int64_t out_c, int threads, int64_t band_bytes,
                                bool subsampled) {
  HalfBandPlan none;
  if (h < 1 || w < 1 || in_c % 16 != 0 || out_c % 16 != 0 || in_c <= 0 || out_c <= 0) return none;
  // A subsampled input runs in jobs whatever its size: the whole-tensor
  // path widens every input pixel, the jobs only those the stride reads.
  const HalfBandPlan whole{subsampled ? h : 0, 1};
  if (h < 2) return whole;
  // Where the weights outweigh the activations, every band of rows would
  // stream all of them again (ResNet-50's 1024 -> 2048 at 14 -> 7 in bands
  // of 3 rows: 1.65 -> 2.33 ms at one thread): all rows in one job, or in
  // channel groups, one per thread, each reading its own slice.
  if (subsampled && in_c * out_c > h * w * std::max(in_c, out_c)) {
    int64_t groups = 1;
    while (groups < threads && groups < 8 && out_c / 16 % (groups * 2) == 0) groups *= 2;
    return HalfBandPlan{h, groups};
  }
  const int64_t row_bytes = w * std::max(in_c, out_c) * 4;
  if (row_bytes * h < kMinBandedBytes && !subsampled) return none;
  if (threads <= 1) {
    const int64_t rows = std::max<int64_t>(1, band_bytes / row_bytes);
    if (rows * 2 > h) return whole;
    return HalfBandPlan{rows, 1};
  }
  HalfBandPlan best;
  double best_time = 0.0;
  int64_t best_jobs = 0;
  for (int64_t groups = 1; groups <= 8 && out_c / 16 % groups == 0; groups *= 2) {
    const int64_t group_c = out_c / groups;
    for (int64_t rows = 1; rows <= h; ++rows) {
      if (rows > 1 && rows * w * (in_c + group_c) * 4 > band_bytes) break;
      if (rows == h && groups == 1 && !subsampled) break;  // one job: the whole-tensor path's work on one thread
      const double time = Makespan(h, w, in_c, group_c, rows, groups, threads);
      const int64_t jobs = (h + rows - 1) / rows * groups;
      // Within half a percent, the fewer jobs (calls) win.
      if (best.rows == 0 || time < best_time * 0.995 || (time <= best_time * 1.005 && jobs < best_jobs)) {
        best = HalfBandPlan{rows, groups};
        best_time = time;
        best_jobs = jobs;
      }
    }
  }
  return best.rows > 0 ? best : whole;
}

bool HalfPointwiseBands::Init(const ConvGeometry& g, const memory::desc& full_weights, int threads,
                              const PdMaker& make) {
  g_ = g;
  plan_ = HalfBandPlan{};
  // Each job's float32 copies within about a third of a 2 MB L2 at two
  // threads and more; at one, within 192 KB, whose bands ran ResNet-50's
  // 56 x 56 and 28 x 28 layers faster than 640 KB ones (Intel Xeon).
  const int64_t band_bytes = threads > 1 ? 640 * 1024 : 192 * 1024;
  const bool subsampled = g.stride_h > 1 || g.stride_w > 1;
  const HalfBandPlan plan = plan_forced ? forced_plan
                                        : ChooseHalfBandPlan(g.out_h, g.out_w, g.in_channels, g.out_channels, threads,
                                                             band_bytes, subsampled);
  if (plan.rows == 0 || plan.rows > g.out_h || plan.groups < 1 || g.out_channels / 16 % plan.groups != 0) return false;
  const int64_t group_c = g.out_channels / plan.groups;
  const int64_t tail = g.out_h % plan.rows;
  try {
    band_pd_ = make(plan.rows, group_c);
    if (tail) tail_pd_ = make(tail, group_c);
    // Each group's weights are a slice of the whole convolution's packed
    // ones (output channels outermost), at a fixed distance from the
    // previous.
    const memory::dims group_dims = {group_c, g.in_channels, 1, 1};
    const memory::desc slice = full_weights.submemory_desc(group_dims, {0, 0, 0, 0});
    if (!JitImpl(band_pd_.impl_info_str()) || band_pd_.weights_desc() != slice ||
        (tail && tail_pd_.weights_desc() != slice))
      return false;
    group_weight_floats_ =
        plan.groups > 1 ? full_weights.submemory_desc(group_dims, {group_c, 0, 0, 0}).data.offset0 : 0;
    band_conv_ = dnnl::convolution_forward(band_pd_);
    if (tail) tail_conv_ = dnnl::convolution_forward(tail_pd_);
  } catch (const dnnl::error&) {
    return false;  // no such primitive or slice here: the whole-tensor path
  }
  plan_ = plan;
  return true;
}

Status HalfPointwiseBands::Run(const uint16_t* x, void* weights, const float* bias, const HalfOutputStage& stage,
                               const std::vector<TensorView>& in, const TensorView& out) {
  // Jobs over the output's rows; the input's plane is larger where strided.
  const int64_t h = g_.out_h, w = g_.out_w, plane = h * w, rows = plan_.rows, groups = plan_.groups;
  const int64_t in_plane = g_.in_h * g_.in_w;
  const bool subsampled = g_.stride_h > 1 || g_.stride_w > 1;
  const int64_t in_blocks = g_.in_channels / 16, group_blocks = g_.out_channels / 16 / groups;
  const int64_t jobs = (h + rows - 1) / rows * groups;
  const int threads = std::max(1, omp_get_max_threads());
  if (workers_.size() < static_cast<size_t>(threads)) workers_.resize(static_cast<size_t>(threads));
  for (Worker& worker : workers_) {
    worker.src.resize(static_cast<size_t>(in_blocks * rows * w * 16));
    worker.dst.resize(static_cast<size_t>(group_blocks * rows * w * 16));
  }
  bool failed = false;
  std::string error;
  for (int64_t n = 0; n < g_.batch; ++n) {
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1 && threads > 1)
    for (int64_t job = 0; job < jobs; ++job) {
      Worker& worker = workers_[static_cast<size_t>(omp_get_thread_num())];
      const int64_t group = job % groups, h0 = job / groups * rows, band_rows = std::min(rows, h - h0);
      const int64_t run = band_rows * w * 16;
      for (int64_t cb = 0; cb < in_blocks; ++cb) {
        const uint16_t* block = x + n * g_.in_channels * in_plane + cb * in_plane * 16;
        float* dst = worker.src.data() + cb * run;
        if (!subsampled) {
          kernels::HalfToFloatRow(block + h0 * w * 16, dst, run);
          continue;
        }
        for (int64_t r = 0; r < band_rows; ++r)
          WidenPixels(block + (h0 + r) * g_.stride_h * g_.in_w * 16, g_.stride_w * 16, w, dst + r * w * 16);
      }
      try {
        auto& engine = kernels::CpuEngine();
        if (!worker.stream) worker.stream = dnnl::stream(engine);
        const bool full = band_rows == rows;
        const auto& pd = full ? band_pd_ : tail_pd_;
        float* group_weights = static_cast<float*>(weights) + group * group_weight_floats_;
        std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(pd.src_desc(), engine, worker.src.data())},
                                                {DNNL_ARG_DST, memory(pd.dst_desc(), engine, worker.dst.data())},
                                                {DNNL_ARG_WEIGHTS, memory(pd.weights_desc(), engine, group_weights)}};
        if (bias)
          args[DNNL_ARG_BIAS] = memory(pd.bias_desc(), engine, const_cast<float*>(bias) + group * group_blocks * 16);
        (full ? band_conv_ : tail_conv_).execute(worker.stream, args);
        worker.stream.wait();
      } catch (const std::exception& e) {
#pragma omp critical(mixq_conv_band_error)
        {
          failed = true;
          error = e.what();
        }
        continue;
      }
      for (int64_t ob = 0; ob < group_blocks; ++ob)
        stage.Apply(worker.dst.data() + ob * run, run,
                    n * g_.out_channels * plane + (group * group_blocks + ob) * plane * 16 + h0 * w * 16, in, out);
    }
    if (failed) return Internal("Conv2D (oneDNN, float16 storage, in bands): ", error);
  }
  return Status::OK();
}

}  // namespace mixq::ops
