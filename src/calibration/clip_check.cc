#include "calibration/clip_check.h"

#include <map>

#include "quant/range_auto.h"
#include "util/status_util.h"

namespace mixq::quant {

Status ClippingWarnings(const ir::Graph& graph, const passes::BuildOptions& options, const CalibrationState* state,
                        const passes::CalibratedRanges& calibrated, std::vector<std::string>* warnings) {
  warnings->clear();
  if (state == nullptr || state->observers.empty()) return Status::OK();
  std::map<std::string, int> bits;
  MIXQ_RETURN_IF_ERROR(PlanStaticActivations(graph, options, &bits, &state->channels));
  for (const auto& [name, b] : bits) {
    const bool symmetric = passes::SymmetricActivations(options, b);
    const auto observer = state->observers.find(name);
    if (observer == state->observers.end() || observer->second.empty()) continue;
    const ir::Value* v = graph.FindValue(name);
    if (v && v->fixed_quant) continue;  // QAT parameters are the model's own
    Range range;
    std::string source;
    if (auto custom = options.custom_ranges.find(name); custom != options.custom_ranges.end()) {
      range = custom->second, source = "custom_ranges";
    } else if (v && v->range && v->range->force && v->range->ranges.size() == 1) {
      range = v->range->ranges[0], source = "hand-set";
    } else if (auto it = calibrated.find(name); it != calibrated.end()) {
      range = it->second, source = RangeAlgorithmName(state->algorithm);
    } else {
      continue;
    }
    if (observer->second.ranges_only()) {
      // No histogram to measure the share: say that the range clips, if it does.
      if (range.min <= observer->second.min() && range.max >= observer->second.max()) continue;
      warnings->push_back(StrCat("tensor '", name, "': the ", source, " range [", range.min, ", ", range.max,
                                 "] clips calibration values (observed [", observer->second.min(), ", ",
                                 observer->second.max(),
                                 "]); how many is not known: the statistics hold ranges only (0 histogram bins)"));
      continue;
    }
    const double percent = 100.0 * ClippedShare(observer->second, range, symmetric);
    const double energy = 100.0 * ClippedEnergyShare(observer->second, range, symmetric);
    if (percent <= options.clip_warning_percent && energy <= options.clip_warning_energy_percent) continue;
    warnings->push_back(StrCat(
        "tensor '", name, "': the ", source, " range [", range.min, ", ", range.max, "] clips ", percent,
        " % of its calibration values, removing ", energy, " % of their energy (observed max |x| ",
        observer->second.max_abs(), ", [", observer->second.min(), ", ", observer->second.max(), "]; warnings above ",
        options.clip_warning_percent, " % of the values or ", options.clip_warning_energy_percent,
        " % of the energy: precision_config.clip_warning_percent / "
        "clip_warning_energy_percent)"));
  }
  return Status::OK();
}

}  // namespace mixq::quant
