// "onednn-f16" pointwise convolutions between float16 nChw16c tensors, run
// as jobs of (a band of rows) x (a group of output channels): each job's
// thread widens its rows' input into float32, runs oneDNN's float32 1 x 1
// kernel on them (one thread inside the job's parallel region) with the
// group's slice of the packed weights, and passes the float32 result
// through the output stage while it is in L2. One parallel region per step,
// where the whole-tensor path runs three (widening, oneDNN, output stage)
// over float32 copies of both tensors.
//
// Why output-channel groups: at two threads, bands of rows alone left one
// thread idle for a band (ResNet-50's 14 x 14 layers split in five bands of
// three rows, its 7 x 7 ones in three), so the float16 step ran 1.5-1.9x
// its float32 form; splitting the output channels too gives jobs of equal
// work, as many as the threads need (BandPlan).
//
// Strided 1 x 1 convolutions (ResNet-50's downsampling projections) run
// here too, as stride-1 ones over the pixels they read: each job widens
// only every stride-th pixel of every stride-th row. The whole-tensor path
// widened the whole input, four times what the convolution reads: the
// 256 -> 512 projection at 56 -> 28 ran at 1.4x its float32 time (2
// threads, AMX Xeon).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/onednn.h"
#include "ops/conv2d/conv_params.h"
#include "ops/half_output_stage.h"
#include "ops/op_schema.h"

namespace mixq::ops {

// How a pointwise convolution of h x w pixels, in_c -> out_c channels
// (multiples of 16), splits into jobs: bands of `rows` rows (the last one
// shorter where rows does not divide h) times `groups` groups of output
// channels. rows == 0: no bands (the whole-tensor path).
struct HalfBandPlan {
  int64_t rows = 0;
  int64_t groups = 1;
};

// The plan for `threads` threads. One thread: bands of rows only, each
// band's float32 copies within `band_bytes`, and only for tensors too large
// for L2 (kMinBandedBytes). More threads: the rows / groups whose jobs,
// dealt to the threads in order, end soonest by a cost model of the
// multiply-adds, the widening, the output stage and a per-call cost, each
// job's float32 copies within `band_bytes` where any split allows.
// `subsampled` (a strided convolution: h x w are its output's): jobs even
// where the tensors fit in L2, one job over all rows where nothing better.
HalfBandPlan ChooseHalfBandPlan(int64_t h, int64_t w, int64_t in_c, int64_t out_c, int threads, int64_t band_bytes,
                                bool subsampled = false);

// Tests: the plan HalfPointwiseBands::Init takes instead of choosing one
// (rows 0: no bands); null: choose again. Not thread-safe.
void SetHalfBandPlanForTesting(const HalfBandPlan* plan);

class HalfPointwiseBands {
 public:
  // oneDNN's primitive for a band of `rows` rows and `out_channels` output
  // channels (nChw16c in and out, the filter in format "any", bias when the
  // whole convolution has one). Throws dnnl::error.
  using PdMaker = std::function<dnnl::convolution_forward::primitive_desc(int64_t rows, int64_t out_channels)>;

  // Plans the jobs for `threads` threads. False (and inactive) where the
  // plan has no bands or oneDNN's band primitives are not fast jit kernels
  // whose weights are slices of `full_weights` (the whole convolution's
  // packed format), or oneDNN has none.
  bool Init(const ConvGeometry& g, const dnnl::memory::desc& full_weights, int threads, const PdMaker& make);
  bool active() const { return plan_.rows > 0; }
  const HalfBandPlan& plan() const { return plan_; }

  // x: the float16 nChw16c input; weights: the whole convolution's packed
  // weights; bias: float32 [out_c] or null. Results go through `stage`.
  Status Run(const uint16_t* x, void* weights, const float* bias, const HalfOutputStage& stage,
             const std::vector<TensorView>& in, const TensorView& out);

 private:
  struct Worker {
    std::vector<float> src, dst;
    dnnl::stream stream;
  };
  ConvGeometry g_;
  HalfBandPlan plan_;
  int64_t group_weight_floats_ = 0;  // floats between two groups' weight slices
  dnnl::convolution_forward::primitive_desc band_pd_, tail_pd_;
  dnnl::convolution_forward band_conv_, tail_conv_;
  std::vector<Worker> workers_;  // one per OpenMP thread
};

}  // namespace mixq::ops
