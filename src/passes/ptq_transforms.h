// Post-training quantization transforms the builder config turns on
// (precision_config.cross_layer_equalization, bias_correction,
// smooth_quant_alpha; all off by default). Each is measured in
// docs/accuracy_suite.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/build_options.h"

namespace mixq::passes {

// Per-channel statistics of activations, gathered by calibration on the
// float network after cross-layer equalization and smoothing (tensor name ->
// one value per channel of the consuming layer's input-channel axis).
struct ChannelStatistics {
  std::map<std::string, std::vector<double>> mean;    // for bias correction
  std::map<std::string, std::vector<double>> absmax;  // for SmoothQuant (gathered before smoothing)
};

// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization"):
// for two Conv2Ds joined directly or through a ReLU, where the first one's
// output feeds nothing else and is no network output, output channel i of
// the first (filter and bias) is divided by s_i and input channel i of the
// second (every filter element reading it) multiplied by s_i, with
//   s_i = sqrt(r1_i * r2_i) / r2_i
// (r1_i: max |filter| of output channel i of the first, r2_i: max |filter|
// over the elements of the second that read channel i), so both ranges
// become sqrt(r1_i * r2_i). ReLU is positive-homogeneous, so the float
// network computes the same function. ReLU6 / clip(0, c) is not
// (clip(x / s, 0, c) != clip(x, 0, c) / s): with relu6 == "replace_with_relu"
// such an activation between a pair becomes ReLU first (as AIMET does; the
// float network changes where the clip was active), with "skip" the pair is
// left alone. Chains (pointwise -> depthwise -> pointwise) are swept until
// the scales settle (at most 16 sweeps). Any group counts work, depthwise
// included. Returns the number of pairs equalized; *relu6_replaced counts
// the activations turned into ReLU.
int EqualizeCrossLayer(ir::Graph* graph, const std::string& relu6, int* relu6_replaced);

// The input-channel axis of the activation a weight-quantizable node
// (Conv2D, FullyConnected, MatMul) reads as input 0, for a tensor of `rank`;
// false for other ops or layouts it does not know.
bool InputChannelAxis(const ir::Node& node, int64_t rank, int64_t* axis);

// Where the bias of `node` is: Conv2D / FullyConnected input 2, or for a
// MatMul the 1-D FLOAT32 constant that the one Elementwise add of the
// product and a constant adds (other readers of the product keep it
// uncorrected). False when there is none.
bool BiasOf(const ir::Graph& graph, const ir::Node& node, int* bias_node, size_t* bias_input);

// Empirical bias correction, after the precision plan and before the weights
// are quantized: for every Conv2D / FullyConnected / MatMul (rank-2 constant
// weight) whose weights the plan quantizes statically (8 or 16 bits) and that
// has a FLOAT32 constant bias (BiasOf),
// the expected output error of the rounded weights on the calibration data,
//   E[W_q x] - E[W x] = (W_q - W) E[x]   (per output channel),
// is subtracted from the bias (Gemm alpha / beta accounted). E[x] is
// means.at(input tensor) per input channel; zero padding at the borders is
// not modelled. Nodes without such a bias, or whose input has no mean, are
// left alone. *corrected: nodes changed. Errors: a mean whose channel count
// does not match the layer.
Status CorrectBias(ir::Graph* graph, const std::map<std::string, std::vector<double>>& means, int* corrected);

// SmoothQuant (Xiao et al. 2023): for every activation X read by
// FullyConnected / MatMul nodes with constant FLOAT32 weights (every reader
// that is such a node is smoothed together; other readers keep X), per input
// channel j
//   s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
// (max|W_j| over all smoothed readers' weights; s_j = 1 where either max is
// 0), X is divided by s: a new Elementwise Mul by 1/s named
// "<X>_smoothed" is inserted before those readers, and each reader's weight
// row j is multiplied by s_j. The float network computes the same function.
// absmax.at(X): max|X_j| per channel from calibration (X's last axis).
// Returns the number of nodes whose weights were scaled.
int SmoothActivations(ir::Graph* graph, double alpha, const std::map<std::string, std::vector<double>>& absmax);

// The activations SmoothActivations would smooth, with their channel counts
// (the last axis of X; FullyConnected with transpose_a is skipped).
std::map<std::string, int64_t> SmoothQuantCandidates(const ir::Graph& graph);

}  // namespace mixq::passes
