// FullyConnected of a few rows (batch 1 to 4) on float16 storage, with the
// weights kept as float16: "avx512-f16-gemv" (16 output features per zmm)
// and "avx2-f16-gemv" (8 per ymm).
//
// Why: at batch 1 a FullyConnected reads every weight once for one
// multiply-add, so its time is the time to stream the weights from memory.
// The float16 step's weights are float16 values (constants consumed in
// float16 are rounded when the plan is made), yet "avx2-f16" runs the float32
// kernel on a float32 copy of them: MobileNetV2's 1280 -> 1000 classifier
// read 5.1 MB per inference and took as long as in float32 (0.34-0.37 ms, 1
// thread, AMD Zen 4). Kept as float16 they are half the bytes (SPEC §6:
// float16 storage halves the weights).
//
// How: at Make the weights are packed as float16, in groups of four vectors
// of output features: [group][k][4 vectors of lanes], one contiguous stream
// per group (features past N zero). Run widens the input rows to float32,
// then each thread takes whole groups: for each k, the group's four weight
// vectors are loaded, widened with F16C and multiplied into the rows'
// accumulators (up to 4 rows x 4 vectors), the k-th input value broadcast.
// The sums plus the bias go to the output stage (ops/half_output_stage.h),
// which applies the fused post-ops and rounds to float16 as the separate
// steps would.
//
// Accuracy: float32 products of the same float16 values, summed in float32
// in k order from zero, then the bias: within one float16 step of the
// reference's result (cpu_half_gemv_test.cc), as the float32 kernel's
// differently ordered sums are.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/half_io.h"
#include "ops/half_output_stage.h"
#include "ops/half_storage.h"
#include "ops/kernel_registry.h"
#include "util/half.h"
#include "util/status_util.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// undefined-vector idiom (GCC bug 105593); clang has no such warning group.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mixq::ops {

namespace {

constexpr int kVectors = 4;      // weight vectors per group
constexpr int64_t kMaxRows = 4;  // rows (batch) these kernels take

struct Geometry {
  int64_t m = 0, k = 0, n = 0;
  bool weights_transposed = true;  // [N, K] (transpose_b = 1) rather than [K, N]
  bool bias = false;
};

// A plain [M, K] input (M <= kMaxRows) times constant float32 weights
// [N, K] or [K, N], alpha = beta = 1, a bias of N values or none, a plain
// [M, N] output: float16 storage in and out (`half`; the weights must be
// float16 values, WeightsAreHalf), or all plain float32.
bool GeometryOf(const KernelInit& init, bool half, Geometry* g) {
  if (init.inputs.size() < 2 || !init.inputs[0] || !init.inputs[1] || init.outputs.size() != 1) return false;
  const ValueInfo &x = *init.inputs[0], &w = *init.inputs[1], &y = init.outputs[0];
  if (x.layout != MemoryLayout::kPlain || y.layout != MemoryLayout::kPlain) return false;
  if (half) {
    if (!IsHalfStorage(x) || !IsHalfStorage(y)) return false;
    if (init.ComputeOf(0) != DataType::FLOAT16 && init.ComputeOf(0) != DataType::FLOAT32) return false;
  } else if (!AllPlainFloat32(init)) {
    return false;
  }
  if (!w.const_data || w.dtype != DataType::FLOAT32 || w.quant) return false;
  if (x.shape.size() != 2 || w.shape.size() != 2 || !ir::IsStatic(x.shape) || !ir::IsStatic(w.shape)) return false;
  if (init.attrs.Int("transpose_a", 0) != 0 || init.attrs.Float("alpha", 1.0f) != 1.0f ||
      init.attrs.Float("beta", 1.0f) != 1.0f)
    return false;
  g->weights_transposed = init.attrs.Int("transpose_b", 1) != 0;
  g->m = x.shape[0];
  g->k = x.shape[1];
  g->n = g->weights_transposed ? w.shape[0] : w.shape[1];
  if ((g->weights_transposed ? w.shape[1] : w.shape[0]) != g->k) return false;
  if (g->m < 1 || g->m > kMaxRows || g->k < 1 || g->n < 1) return false;
  if (y.shape != ir::Shape{g->m, g->n}) return false;
  if (init.inputs.size() > 2 && init.inputs[2]) {
    const ValueInfo& b = *init.inputs[2];
    if (!b.const_data || b.dtype != DataType::FLOAT32 || b.quant || !ir::IsStatic(b.shape) ||
        ir::ElementCount(b.shape) != g->n || b.shape.size() > 2 || (b.shape.size() == 2 && b.shape[0] != 1))
      return false;
    g->bias = true;
  }
  return true;
}

// Every weight a float16 value (NaNs aside): then the float16 copy is the
// same weights. Checked in chunks with F16C (a few ms for millions).
bool WeightsAreHalf(const float* w, int64_t count) {
  constexpr int64_t kChunk = 4096;
  std::vector<uint16_t> h(kChunk);
  std::vector<float> back(kChunk);
  for (int64_t at = 0; at < count; at += kChunk) {
    const int64_t n = std::min(kChunk, count - at);
    kernels::FloatToHalfRow(w + at, h.data(), n);
    kernels::HalfToFloatRow(h.data(), back.data(), n);
    for (int64_t i = 0; i < n; ++i)
      if (back[static_cast<size_t>(i)] != w[at + i] && w[at + i] == w[at + i]) return false;
  }
  return true;
}

// W: uint16_t (float16 weights, widened with F16C) or float.
template <typename W, int M>
__attribute__((target("avx512f"))) void Group512(const void* weights, const float* x, int64_t k, float* y) {
  const W* w = static_cast<const W*>(weights);
  __m512 acc[M][kVectors];
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < k; ++i, w += kVectors * 16) {
    __m512 wv[kVectors];
    for (int j = 0; j < kVectors; ++j) {
      if constexpr (sizeof(W) == 2)
        wv[j] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 16)));
      else
        wv[j] = _mm512_loadu_ps(reinterpret_cast<const float*>(w) + j * 16);
    }
    for (int r = 0; r < M; ++r) {
      const __m512 v = _mm512_set1_ps(x[r * k + i]);
      for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_fmadd_ps(v, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) _mm512_storeu_ps(y + (r * kVectors + j) * 16, acc[r][j]);
}

template <typename W, int M>
__attribute__((target("avx2,fma,f16c"))) void Group256(const void* weights, const float* x, int64_t k, float* y) {
  const W* w = static_cast<const W*>(weights);
  __m256 acc[M][kVectors];
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < k; ++i, w += kVectors * 8) {
    __m256 wv[kVectors];
    for (int j = 0; j < kVectors; ++j) {
      if constexpr (sizeof(W) == 2)
        wv[j] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + j * 8)));
      else
        wv[j] = _mm256_loadu_ps(reinterpret_cast<const float*>(w) + j * 8);
    }
    for (int r = 0; r < M; ++r) {
      const __m256 v = _mm256_broadcast_ss(x + r * k + i);
      for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm256_fmadd_ps(v, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int j = 0; j < kVectors; ++j) _mm256_storeu_ps(y + (r * kVectors + j) * 8, acc[r][j]);
}

using GroupFn = void (*)(const void* w, const float* x, int64_t k, float* y);

template <typename W>
GroupFn GroupFor(bool avx512, int64_t m) {
  static constexpr GroupFn k512[] = {Group512<W, 1>, Group512<W, 2>, Group512<W, 3>, Group512<W, 4>};
  static constexpr GroupFn k256[] = {Group256<W, 1>, Group256<W, 2>, Group256<W, 3>, Group256<W, 4>};
  return (avx512 ? k512 : k256)[m - 1];
}

// The packed weights: [group][k][kVectors * lanes], W = uint16_t (float16)
// or float.
template <typename W>
struct PackedWeights {
  std::vector<W> w;
};

// W: uint16_t (float16 storage, float16 weights) or float (all float32).
template <typename W>
class Gemv : public Kernel {
 public:
  static constexpr bool kHalf = sizeof(W) == 2;
  explicit Gemv(bool avx512) : avx512_(avx512), lanes_(avx512 ? 16 : 8) {}
  const char* Name() const override {
    if (kHalf) return avx512_ ? "avx512-f16-gemv" : "avx2-f16-gemv";
    return avx512_ ? "avx512-f32-gemv" : "avx2-f32-gemv";
  }
  int64_t PrivateWeightBytes() const override { return private_bytes_; }
  // The weights are packed and the bias copied.
  bool ReadsInputAtRun(size_t index) const override { return index != 1 && index != 2; }

  Status Init(const KernelInit& init) {
    if (!GeometryOf(init, kHalf, &g_)) return Internal("FullyConnected (", Name(), "): unsupported step");
    const int64_t width = kVectors * lanes_;
    groups_ = (g_.n + width - 1) / width;
    const auto* w = static_cast<const float*>(init.inputs[1]->const_data);
    auto pack = [&](std::shared_ptr<const void>* out, int64_t* bytes) {
      auto packed = std::make_shared<PackedWeights<W>>();
      packed->w.assign(static_cast<size_t>(groups_ * g_.k * width), 0);
      for (int64_t o = 0; o < g_.n; ++o)
        for (int64_t i = 0; i < g_.k; ++i) {
          const float v = g_.weights_transposed ? w[o * g_.k + i] : w[i * g_.n + o];
          W& slot = packed->w[static_cast<size_t>((o / width * g_.k + i) * width + o % width)];
          if constexpr (kHalf)
            slot = FloatToHalf(v);
          else
            slot = v;
        }
      *bytes = static_cast<int64_t>(packed->w.size() * sizeof(W));
      *out = packed;
      return Status::OK();
    };
    std::shared_ptr<const void> packed;
    const std::string key = init.weight_key + "/" + Name();
    if (init.weights)
      MIXQ_RETURN_IF_ERROR(init.weights->GetOrCreate(key, pack, &packed));
    else
      MIXQ_RETURN_IF_ERROR(pack(&packed, &private_bytes_));
    weights_ = std::static_pointer_cast<const PackedWeights<W>>(packed);
    bias_.assign(static_cast<size_t>(groups_ * width), 0.0f);
    if (g_.bias) std::memcpy(bias_.data(), init.inputs[2]->const_data, static_cast<size_t>(g_.n) * sizeof(float));
    stage_ = std::make_unique<HalfOutputStage>(init);
    group_ = GroupFor<W>(avx512_, g_.m);
    return Status::OK();
  }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t width = kVectors * lanes_;
    const float* x = nullptr;
    if constexpr (kHalf) {
      x_.resize(static_cast<size_t>(g_.m * g_.k));
      kernels::HalfToFloatRow(in[0].Data<const uint16_t>(), x_.data(), g_.m * g_.k);
      x = x_.data();
    } else {
      x = in[0].Data<const float>();
    }
    const int threads = std::max(1, omp_get_max_threads());
    if (sums_.size() < static_cast<size_t>(threads)) sums_.resize(static_cast<size_t>(threads));
#pragma omp parallel for schedule(static) if (groups_ > 1 && threads > 1)
    for (int64_t group = 0; group < groups_; ++group) {
      std::vector<float>& y = sums_[static_cast<size_t>(omp_get_thread_num())];
      y.resize(static_cast<size_t>(g_.m * width));
      group_(weights_->w.data() + group * g_.k * width, x, g_.k, y.data());
      const int64_t n0 = group * width, count = std::min(width, g_.n - n0);
      for (int64_t r = 0; r < g_.m; ++r) {
        float* row = y.data() + r * width;
        for (int64_t j = 0; j < count; ++j) row[j] += bias_[static_cast<size_t>(n0 + j)];
        stage_->Apply(row, count, r * g_.n + n0, in, out[0]);
      }
    }
    return Status::OK();
  }

 private:
  bool avx512_;
  int64_t lanes_;
  Geometry g_;
  int64_t groups_ = 0;
  GroupFn group_ = nullptr;
  std::shared_ptr<const PackedWeights<W>> weights_;  // shared with the engine
  int64_t private_bytes_ = 0;
  std::vector<float> bias_;  // padded to whole groups
  std::unique_ptr<HalfOutputStage> stage_;
  std::vector<float> x_;                  // float16: the rows widened
  std::vector<std::vector<float>> sums_;  // per OpenMP thread: a group's sums
};

bool SupportsHalf(const KernelInit& init) {
  Geometry g;
  if (!GeometryOf(init, /*half=*/true, &g) || !HalfOutputStage::Supports(init)) return false;
  return WeightsAreHalf(static_cast<const float*>(init.inputs[1]->const_data), g.n * g.k);
}

bool SupportsFloat(const KernelInit& init) {
  Geometry g;
  return GeometryOf(init, /*half=*/false, &g) && HalfOutputStage::Supports(init);
}

template <typename W, bool kAvx512>
Status Make(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  auto k = std::make_unique<Gemv<W>>(kAvx512);
  MIXQ_RETURN_IF_ERROR(k->Init(init));
  *kernel = std::move(k);
  return Status::OK();
}

}  // namespace

}  // namespace mixq::ops

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

MIXQ_REGISTER_KERNELS(fully_connected, half_gemv) {
  // Above avx2-f16 (10), which runs the float32 kernel on float32 weights.
  mixq::ops::RegisterKernel({"avx2-f16-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 12,
                             mixq::ops::SupportsHalf, mixq::ops::Make<uint16_t, false>});
  mixq::ops::RegisterKernel({"avx512-f16-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512, 13,
                             mixq::ops::SupportsHalf, mixq::ops::Make<uint16_t, true>});
  // Float32: above onednn (10) and avx2-f32 (15, which leaves few rows to
  // oneDNN anyway).
  mixq::ops::RegisterKernel({"avx2-f32-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx2, 16,
                             mixq::ops::SupportsFloat, mixq::ops::Make<float, false>});
  mixq::ops::RegisterKernel({"avx512-f32-gemv", mixq::OpKind::kFullyConnected, mixq::kernels::Isa::kAvx512, 17,
                             mixq::ops::SupportsFloat, mixq::ops::Make<float, true>});
}
