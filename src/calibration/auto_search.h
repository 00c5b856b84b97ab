// The output-aware `auto` range algorithm (issue 13, part 3): after the
// histograms are complete, the per-tensor choice among linear / eqnm /
// entropy / percentile is refined by the error at the network outputs on a
// few calibration samples kept for it (BuildOptions::auto_output_samples).
//
// Every candidate is the real quantized build of the network (the same
// passes::BuildModelData the builder runs, with the ranges the build would
// derive), run on the fast kernels over the kept samples and scored by its
// SQNR against the float32 build: the error energy over every kept sample
// and real-valued network output, except that an output a Softmax produces
// is scored at the Softmax's input (the logits): a softmax output's error is
// dominated by the few positions whose top class changes, which on a handful
// of samples is a noisy score to optimise (on PP-OCRv4 rec it made the
// search fit the kept lines and lose on others; docs/accuracy.md). The search:
//
//  1. starts: the histogram proxy's choice (quant::AutoRange per tensor) and
//     each single algorithm for every tensor; the best-scoring one (ties: the
//     earlier, the proxy first) is the start;
//  2. greedy passes over the quantized tensors in execution order: each
//     tensor's other candidates (those giving another grid than the current)
//     are built and scored with the rest fixed; the best one is kept when it
//     raises the SQNR by more than kMinGainDb and lowers the error on at
//     least kMinAgreeingShare of the kept samples (a sign test against
//     fitting one or two samples); at most kMaxPasses passes, fewer when a
//     pass keeps no switch.
//
// Only switches that raise the score are kept, so the chosen ranges score at
// least as well on the kept samples as every single algorithm (and the
// proxy). Cost: (starts <= 5) + passes x (the tensors' distinct other
// candidates) builds, each one build (~0.08 s for PP-OCRv4 rec) and one run
// per kept sample (~0.03 s there); ~2 minutes for rec's 55 tensors with 8
// samples. Memory: the kept samples' inputs and the float32 scored outputs of
// each (rec: 8 x (184 KB + 1.06 MB)).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "calibration/calib_runner.h"
#include "calibration/calib_state.h"
#include "ir/graph.h"
#include "passes/build_options.h"

namespace mixq::quant {

constexpr int kMaxPasses = 2;
constexpr double kMinGainDb = 0.01;
constexpr double kMinAgreeingShare = 0.75;

struct AutoSearchReport {
  // Output SQNR (dB) on the kept samples of each start, by name: "auto
  // (proxy)", "linear", "eqnm" (symmetric only), "entropy", "percentile".
  std::vector<std::pair<std::string, double>> starts;
  std::string start;                  // the best start's name
  double final_db = 0.0;              // of the chosen ranges
  int64_t builds = 0;                 // candidate builds, starts included
  int passes = 0;                     // greedy passes run
  std::vector<std::string> switches;  // "tensor: eqnm -> linear (+0.12 dB)", in order
};

// Fills state->auto_choice (every quantized tensor the state covers) from the
// search above. `graph`: the user's network (the state's); `samples`: the
// kept samples (at least one); `progress` (may be empty) gets (done, total)
// candidate builds, total being an upper bound reached at the end.
// FAILED_PRECONDITION when the network has no real-valued output to score.
Status SearchAutoRanges(const ir::Graph& graph, const passes::BuildOptions& options, const KeptSamples& samples,
                        const std::function<void(int64_t done, int64_t total)>& progress, CalibrationState* state,
                        AutoSearchReport* report);

}  // namespace mixq::quant
