// From a user's network to a deployable model: every build pass in order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "format/model_file.h"
#include "passes/build_options.h"
#include "passes/precision_planner.h"
#include "passes/ptq_transforms.h"

namespace mixq::passes {

// Copies `network`, verifies it, removes nodes no output depends on, plans
// every node's precision (ranges from hand-set values, the config or
// `calibrated`), quantizes the weights, and records the precision report.
// The network itself is left untouched. `channels`: calibration's per-channel
// statistics, needed by options.bias_correction and smooth_quant_alpha
// (FAILED_PRECONDITION without them when they would change something).
Status BuildModelData(const std::string& name, const ir::Graph& network, const BuildOptions& options,
                      const CalibratedRanges& calibrated, const std::string& config_json, format::ModelData* model,
                      const ChannelStatistics* channels = nullptr);

// What the build does to a verified network before planning: node precision
// pins, dead-node elimination, the folds and fusions, then cross-layer
// equalization and SmoothQuant when `options` ask (SmoothQuant only with
// `channels`). Calibration runs the same steps so it observes the tensors
// the build quantizes. `folded` as for FoldBatchNorms; `transforms` gets one
// line per PTQ transform that ran (may be null).
Status PrepareForPlanning(ir::Graph* graph, const BuildOptions& options, const ChannelStatistics* channels,
                          std::map<std::string, std::vector<std::string>>* folded,
                          std::vector<std::string>* transforms);

// Removes nodes whose outputs reach no network output (ids are renumbered).
void EliminateDeadNodes(ir::Graph* graph);

// Folds inference BatchNorms into the Conv2D feeding them where that changes
// nothing else (see fold_batch_norm.cc). `folded`: Conv2D name -> labels of
// the BatchNorms folded into it, for the precision report.
void FoldBatchNorms(ir::Graph* graph, std::map<std::string, std::vector<std::string>>* folded);

// Folds scalar multiplications / additions after a Conv2D into its filter and
// bias, and rewrites x * clip(x + 3, 0, 6) / 6 as Activation hard_swish
// (fold_affine.cc); `folded` as for FoldBatchNorms.
void FoldElementwisePatterns(ir::Graph* graph, std::map<std::string, std::vector<std::string>>* folded);

// Rewrites SiLU, GELU (erf and tanh forms), hard-sigmoid and LayerNorm
// spelled out as elementwise nodes as one Activation / LayerNorm node, where
// nothing but float rounding changes (fuse_decomposed.cc; nodes pinned by
// the user or `options` block it); `folded` as for FoldBatchNorms.
void FuseDecomposedOps(ir::Graph* graph, const BuildOptions& options,
                       std::map<std::string, std::vector<std::string>>* folded);

}  // namespace mixq::passes
