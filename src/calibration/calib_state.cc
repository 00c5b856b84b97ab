#include "calibration/calib_state.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <variant>

#include "ops/graph_verifier.h"
#include "ops/op_schema.h"
#include "passes/build_pipeline.h"
#include "passes/node_precision.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace mixq::quant {

namespace {

// Feeds typed fields into a CRC with their lengths, so ("ab", "c") and
// ("a", "bc") hash differently.
class Hasher {
 public:
  void Bytes(const void* data, size_t size) { crc_.Update(static_cast<const uint8_t*>(data), size); }
  void U64(uint64_t v) {
    uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
    Bytes(le, 8);
  }
  void Str(const std::string& s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  void Ints(const std::vector<int64_t>& v) {
    U64(v.size());
    for (int64_t x : v) U64(static_cast<uint64_t>(x));
  }
  void F32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    U64(bits);
  }
  uint64_t Value() const { return crc_.Value(); }

 private:
  format::Crc64 crc_;
};

void HashAttr(const ir::AttrValue& value, Hasher* h) {
  h->U64(value.index());
  std::visit(
      [h](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>)
          h->U64(static_cast<uint64_t>(v));
        else if constexpr (std::is_same_v<T, float>)
          h->F32(v);
        else if constexpr (std::is_same_v<T, std::string>)
          h->Str(v);
        else if constexpr (std::is_same_v<T, std::vector<int64_t>>)
          h->Ints(v);
        else {
          h->U64(v.size());
          for (float f : v) h->F32(f);
        }
      },
      value);
}

}  // namespace

uint64_t NetworkHash(const ir::Graph& graph) {
  Hasher h;
  h.Str("mixq-network-v1");
  h.U64(graph.inputs().size());
  for (int id : graph.inputs()) {
    const ir::Value& v = *graph.value(id);
    h.Str(v.name);
    h.U64(static_cast<uint64_t>(v.dtype));
    h.Ints(v.shape);
  }
  auto value_name = [&graph](int id) { return id < 0 ? std::string("<omitted>") : graph.value(id)->name; };
  h.U64(graph.node_count());
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const ir::Node& node = *graph.node(static_cast<int>(n));
    h.Str(ops::GetSchema(node.op).name);
    h.Str(node.name);
    h.U64(node.inputs.size());
    for (int in : node.inputs) h.Str(value_name(in));
    h.U64(node.outputs.size());
    for (int out : node.outputs) h.Str(value_name(out));
    h.U64(node.attrs.values().size());
    for (const auto& [name, value] : node.attrs.values()) {
      h.Str(name);
      HashAttr(value, &h);
    }
    h.U64(node.constant ? node.constant->size() : 0);
    if (node.constant) h.Bytes(node.constant->data(), node.constant->size());
  }
  return h.Value();
}

Status PlanStaticActivations(const ir::Graph& graph, const passes::BuildOptions& options,
                             std::map<std::string, int>* bits, const passes::ChannelStatistics* channels) {
  bits->clear();
  ir::Graph copy = graph;
  MIXQ_RETURN_IF_ERROR(ir::VerifyGraph(copy));
  MIXQ_RETURN_IF_ERROR(passes::ApplyNodePrecision(options, &copy));
  passes::EliminateDeadNodes(&copy);
  // The folds the build makes before planning, so the tensors observed are
  // those the build quantizes (an integer chain's input is a folded
  // hard_swish's, not the x * clip(x + 3, 0, 6) / 6 it came from).
  std::map<std::string, std::vector<std::string>> folded;
  passes::FoldBatchNorms(&copy, &folded);
  passes::FoldElementwisePatterns(&copy, &folded);
  // Smoothing adds the "<X>_smoothed" tensors the smoothed layers read.
  if (options.smooth_quant_alpha >= 0.0 && channels)
    passes::SmoothActivations(&copy, options.smooth_quant_alpha, channels->absmax);
  passes::PrecisionReport report;
  MIXQ_RETURN_IF_ERROR(passes::PlanPrecision(&copy, options, {}, &report, /*require_activation_ranges=*/false));
  for (size_t n = 0; n < copy.node_count(); ++n) {
    const ir::Node& node = *copy.node(static_cast<int>(n));
    for (size_t i = 0; i < node.inputs.size() && i < node.input_quant.size(); ++i) {
      const auto& binding = node.input_quant[i];
      if (!binding || binding->dynamic || node.inputs[i] < 0) continue;
      const ir::Value& v = *copy.value(node.inputs[i]);
      if (v.producer >= 0 && copy.node(v.producer)->op == OpKind::kConstant) continue;  // weights
      int& b = (*bits)[v.name];
      b = std::max(b, binding->bits);
    }
  }
  return Status::OK();
}

Status RangeFromState(const CalibrationState& state, const std::string& tensor, int bits, bool symmetric, Range* out) {
  if (auto it = state.table_ranges.find(tensor); it != state.table_ranges.end()) {
    *out = it->second;
    return Status::OK();
  }
  auto it = state.observers.find(tensor);
  if (it == state.observers.end()) return NotFound("no calibration statistics for tensor '", tensor, "'");
  RangeOptions options;
  options.algorithm = state.algorithm;
  if (state.algorithm == RangeAlgorithm::kAuto)
    if (auto chosen = state.auto_choice.find(tensor); chosen != state.auto_choice.end())
      // eqnm is symmetric only: a build with another symmetry than the search's takes the proxy.
      if (symmetric || chosen->second != RangeAlgorithm::kEqnm) options.algorithm = chosen->second;
  options.bits = bits;
  options.symmetric = symmetric;
  options.percentile = state.percentile;
  return WithContext(ComputeRange(it->second, options, out),
                     StrCat("calibrated range (", RangeAlgorithmName(options.algorithm), ", ", bits, " bits, ",
                            symmetric ? "symmetric" : "asymmetric", ") of tensor '", tensor, "'"));
}

namespace {

Status CheckTransforms(const passes::BuildOptions& options, const CalibrationState& state) {
  auto mismatch = [](const std::string& key, const std::string& gathered, const std::string& asked) {
    return FailedPrecondition("the calibration statistics were gathered with precision_config.", key, " = ", gathered,
                              ", but this config sets ", asked,
                              ": the transform changes the activations, so calibrate again with this config");
  };
  auto on_off = [](bool on) { return std::string(on ? "true" : "false"); };
  auto alpha = [](double a) { return a < 0.0 ? std::string("off") : StrCat(a); };
  if (options.cross_layer_equalization != state.cross_layer_equalization)
    return mismatch("cross_layer_equalization", on_off(state.cross_layer_equalization),
                    on_off(options.cross_layer_equalization));
  if (options.cross_layer_equalization && options.cle_relu6 != state.cle_relu6)
    return mismatch("cross_layer_equalization_relu6", state.cle_relu6, options.cle_relu6);
  if (options.smooth_quant_alpha != state.smooth_quant_alpha)
    return mismatch("smooth_quant_alpha", alpha(state.smooth_quant_alpha), alpha(options.smooth_quant_alpha));
  return Status::OK();
}

}  // namespace

Status CalibratedRangesFor(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationState* state,
                           passes::CalibratedRanges* ranges) {
  ranges->clear();
  if (state == nullptr) return Status::OK();
  const uint64_t hash = NetworkHash(graph);
  if (hash != state->network_hash)
    return FailedPrecondition("the calibration statistics were gathered on another network (hash ", std::hex,
                              state->network_hash, ", this network ", hash,
                              "): the network changed after Calibrate / LoadStatistics; calibrate again");
  std::map<std::string, int> bits;
  MIXQ_RETURN_IF_ERROR(PlanStaticActivations(graph, options, &bits, &state->channels));
  // A build that takes no calibrated range (float32, say) may differ.
  if (!bits.empty()) MIXQ_RETURN_IF_ERROR(CheckTransforms(options, *state));
  for (const auto& [name, b] : bits) {
    if (!state->observers.count(name) && !state->table_ranges.count(name)) continue;
    const ir::Value* v = graph.FindValue(name);
    if (options.custom_ranges.count(name) || (v && v->range && v->range->force)) continue;  // they win anyway
    Range range;
    MIXQ_RETURN_IF_ERROR(RangeFromState(*state, name, b, passes::SymmetricActivations(options, b), &range));
    (*ranges)[name] = range;
  }
  return Status::OK();
}

}  // namespace mixq::quant
