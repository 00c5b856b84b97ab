// ICalibrator: the public calibration API over quant/calib_* (runner,
// calibration file, range table), keeping the result on the network.
#include <fstream>
#include <iterator>
#include <memory>

#include "api/builder_config.h"
#include "api/network_impl.h"
#include "calibration/auto_search.h"
#include "calibration/calib_runner.h"
#include "mixq/calibrator.h"
#include "quant/calib_file.h"
#include "quant/calib_range_table.h"
#include "util/boundary.h"
#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {

Status ReadWholeFile(const std::string& path, std::string* bytes) {
  return ReadFileLimited(path, kMaxCalibFileBytes, "calibration file", bytes);
}

Status WriteWholeFile(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("cannot open '", path, "' for writing");
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) return DataLoss("error writing '", path, "'");
  return Status::OK();
}

Status NetworkOf(INetwork* network, const char* call, NetworkImpl** impl) {
  if (!network) return InvalidArgument(call, ": network is null");
  *impl = ToImpl(network);
  if (!*impl) return InvalidArgument(call, ": network was not created by CreateINetwork");
  return Status::OK();
}

Status ConfigOf(IBuilderConfig* config, const char* call, passes::BuildOptions* options) {
  if (!config) {
    *options = passes::BuildOptions{};
    return Status::OK();
  }
  const auto* impl = dynamic_cast<BuilderConfigImpl*>(config);
  if (!impl) return InvalidArgument(call, ": config was not created by CreateIBuilderConfig");
  *options = impl->options();
  return Status::OK();
}

// Statistics of a network transformed by cross-layer equalization or
// SmoothQuant describe other activations than the network's own; files do
// not record the transforms, so a build without them would use them silently.
Status CheckUntransformed(const quant::CalibrationState& state, const char* call, const char* what) {
  if (!state.cross_layer_equalization && state.smooth_quant_alpha < 0.0) return Status::OK();
  return FailedPrecondition(call, ": these statistics were gathered on the network as transformed by ",
                            state.cross_layer_equalization ? "precision_config.cross_layer_equalization"
                                                           : "precision_config.smooth_quant_alpha",
                            ", and ", what,
                            " do not record the transforms; calibrate with that config before each build instead");
}

// NOT_FOUND listing every name the network lacks.
Status CheckNamesExist(const ir::Graph& graph, const std::vector<std::string>& names, const std::string& what) {
  std::string unknown;
  size_t count = 0;
  for (const auto& name : names) {
    if (graph.FindValue(name)) continue;
    unknown += (unknown.empty() ? "'" : ", '") + name + "'";
    ++count;
  }
  if (count == 0) return Status::OK();
  return NotFound(what, " names ", count, " tensor(s) the network does not have: ", unknown,
                  " (was it made for another network, or were tensors renamed?)");
}

quant::RangeAlgorithm ToInternal(QuantizationAlgorithm algorithm) {
  switch (algorithm) {
    case QuantizationAlgorithm::LINEAR:
      return quant::RangeAlgorithm::kLinear;
    case QuantizationAlgorithm::EQNM:
      return quant::RangeAlgorithm::kEqnm;
    case QuantizationAlgorithm::ENTROPY:
      return quant::RangeAlgorithm::kEntropy;
    case QuantizationAlgorithm::PERCENTILE:
      return quant::RangeAlgorithm::kPercentile;
    case QuantizationAlgorithm::AUTO:
      return quant::RangeAlgorithm::kAuto;
  }
  return quant::RangeAlgorithm::kLinear;
}

class CalibratorImpl : public ICalibrator {
 public:
  explicit CalibratorImpl(std::vector<CalibDataInterface*> data) : data_(std::move(data)) {}

  Status SetQuantizationAlgorithm(QuantizationAlgorithm algorithm, double percentile) override {
    const auto value = static_cast<int32_t>(algorithm);
    if (value < 0 || value > static_cast<int32_t>(QuantizationAlgorithm::AUTO))
      return InvalidArgument("SetQuantizationAlgorithm: unknown algorithm ", value);
    if (!(percentile > 0.0 && percentile <= 100.0))  // written so NaN fails too
      return InvalidArgument("SetQuantizationAlgorithm: percentile ", percentile, " outside (0, 100]");
    algorithm_ = ToInternal(algorithm);
    percentile_ = percentile;
    return Status::OK();
  }

  Status SetHistogramBins(int32_t bins) override {
    if (bins < 0 || bins > quant::TensorObserver::kMaxNumBins)
      return InvalidArgument("SetHistogramBins: ", bins, " outside [0, ", quant::TensorObserver::kMaxNumBins, "]");
    bins_ = bins;
    return Status::OK();
  }

  void SetProgressCallback(std::function<void(int64_t, int64_t)> callback) override { progress_ = std::move(callback); }

  Status Calibrate(INetwork* network, IBuilderConfig* config) override {
    NetworkImpl* impl = nullptr;
    MIXQ_RETURN_IF_ERROR(NetworkOf(network, "Calibrate", &impl));
    passes::BuildOptions options;
    MIXQ_RETURN_IF_ERROR(ConfigOf(config, "Calibrate", &options));
    // Found before running any data: the one option clash the statistics cannot resolve later.
    if (algorithm_ == quant::RangeAlgorithm::kEqnm && options.activation_quant_algo != "symmetric")
      return InvalidArgument(
          "Calibrate: eqnm supports symmetric quantization only, but the config sets "
          "precision_config.activation_quant_algo to '",
          options.activation_quant_algo, "'");
    if (bins_ == 0 && algorithm_ != quant::RangeAlgorithm::kLinear)
      return FailedPrecondition("Calibrate: ", quant::RangeAlgorithmName(algorithm_),
                                " needs histograms, but SetHistogramBins(0) keeps ranges only (for linear)");
    auto state = std::make_shared<quant::CalibrationState>();
    state->algorithm = algorithm_;
    state->percentile = percentile_;
    // auto's output-aware search (calibration/auto_search.h) re-runs the first samples.
    const bool search = algorithm_ == quant::RangeAlgorithm::kAuto && options.auto_output_samples > 0;
    quant::KeptSamples kept;
    MIXQ_RETURN_IF_ERROR(StatusAtBoundary("Calibrate", [&] {
      return quant::RunCalibration(
          impl->graph(), options,
          {data_, bins_, progress_, false, search ? options.auto_output_samples : 0, search ? &kept : nullptr},
          state.get());
    }));
    warnings_.clear();
    if (search) {
      quant::AutoSearchReport report;
      const Status searched = StatusAtBoundary("Calibrate", [&] {
        return quant::SearchAutoRanges(impl->graph(), options, kept, progress_, state.get(), &report);
      });
      // What the search cannot measure leaves the proxy's choice, which is complete without it.
      if (searched.code() == StatusCode::FAILED_PRECONDITION)
        warnings_.push_back(StrCat("auto: the output-aware search was skipped (", searched.message(),
                                   "); every tensor has the histogram proxy's range"));
      else
        MIXQ_RETURN_IF_ERROR(searched);
    }
    // Derive the ranges once now, so a tensor that saw no finite value is reported here, not at build.
    passes::CalibratedRanges ranges;
    MIXQ_RETURN_IF_ERROR(
        WithContext(quant::CalibratedRangesFor(impl->graph(), options, state.get(), &ranges), "Calibrate"));
    for (const auto& [name, range] : ranges)
      if (range.min == 0.0f && range.max == 0.0f)
        warnings_.push_back(StrCat("tensor '", name, "' was 0 in every calibration sample: its range is [0, 0], ",
                                   "so it is quantized with scale 1 and every value becomes 0"));
    impl->set_calibration(std::move(state));
    return Status::OK();
  }

  Status SaveStatistics(INetwork* network, const std::string& path) override {
    NetworkImpl* impl = nullptr;
    MIXQ_RETURN_IF_ERROR(NetworkOf(network, "SaveStatistics", &impl));
    const quant::CalibrationState* state = impl->calibration();
    if (!state || state->observers.empty())
      return FailedPrecondition("SaveStatistics: the network has no calibration statistics",
                                state ? " (its ranges come from a range table: use WriteRangeTable)"
                                      : " (call Calibrate or LoadStatistics first)");
    if (state->observers.begin()->second.ranges_only())
      return FailedPrecondition(
          "SaveStatistics: the statistics hold ranges only (calibrated with 0 histogram bins); a calibration "
          "file carries histograms: calibrate with bins (SetHistogramBins), or save the ranges with "
          "WriteRangeTable");
    MIXQ_RETURN_IF_ERROR(CheckUntransformed(*state, "SaveStatistics", "calibration files"));
    quant::CalibrationFile file;
    file.network_hash = state->network_hash;
    for (const auto& [name, observer] : state->observers) file.tensors.emplace(name, observer.State());
    if (state->algorithm == quant::RangeAlgorithm::kAuto && !state->auto_choice.empty()) {
      file.auto_choice = state->auto_choice;  // the output-aware search's result, which histograms cannot redo
      file.auto_percentile = state->percentile;
    }
    std::vector<uint8_t> bytes;
    quant::WriteCalibrationFile(file, &bytes);
    return WithContext(WriteWholeFile(path, bytes.data(), bytes.size()), "SaveStatistics");
  }

  Status LoadStatistics(INetwork* network, const std::string& path) override {
    NetworkImpl* impl = nullptr;
    MIXQ_RETURN_IF_ERROR(NetworkOf(network, "LoadStatistics", &impl));
    const std::string where = "LoadStatistics('" + path + "')";
    std::string bytes;
    MIXQ_RETURN_IF_ERROR(WithContext(ReadWholeFile(path, &bytes), where));
    quant::CalibrationFile file;
    MIXQ_RETURN_IF_ERROR(WithContext(
        quant::ReadCalibrationFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &file), where));
    std::vector<std::string> names;
    for (const auto& [name, s] : file.tensors) names.push_back(name);
    MIXQ_RETURN_IF_ERROR(WithContext(CheckNamesExist(impl->graph(), names, "the calibration file"), where));
    MIXQ_RETURN_IF_ERROR(WithContext(CheckHash(impl->graph(), file.network_hash, "the calibration file"), where));
    auto state = std::make_shared<quant::CalibrationState>();
    state->network_hash = file.network_hash;
    state->algorithm = algorithm_;
    state->percentile = percentile_;
    for (const auto& [name, s] : file.tensors) {
      quant::TensorObserver observer;
      MIXQ_RETURN_IF_ERROR(WithContext(quant::TensorObserver::FromState(s, &observer), where));
      state->observers.emplace(name, std::move(observer));
    }
    // The auto search's choices: used when this calibrator's algorithm is
    // auto (RangeFromState), as Calibrate would have left them.
    state->auto_choice = file.auto_choice;
    std::vector<std::string> warnings;
    if (algorithm_ == quant::RangeAlgorithm::kAuto && !file.auto_choice.empty() &&
        file.auto_percentile != percentile_) {
      int percentile_choices = 0;
      for (const auto& [name, a] : file.auto_choice) percentile_choices += a == quant::RangeAlgorithm::kPercentile;
      if (percentile_choices > 0)
        warnings.push_back(StrCat(where, ": the auto search chose percentile for ", percentile_choices,
                                  " tensor(s) at percentile ", file.auto_percentile, "; this calibrator's is ",
                                  percentile_, ", so their ranges differ from what the search scored"));
    }
    impl->set_calibration(std::move(state));
    warnings_ = std::move(warnings);
    return Status::OK();
  }

  Status WriteRangeTable(INetwork* network, IBuilderConfig* config, const std::string& path) override {
    NetworkImpl* impl = nullptr;
    MIXQ_RETURN_IF_ERROR(NetworkOf(network, "WriteRangeTable", &impl));
    passes::BuildOptions options;
    MIXQ_RETURN_IF_ERROR(ConfigOf(config, "WriteRangeTable", &options));
    const quant::CalibrationState* state = impl->calibration();
    if (!state) return FailedPrecondition("WriteRangeTable: the network is not calibrated (call Calibrate first)");
    MIXQ_RETURN_IF_ERROR(CheckUntransformed(*state, "WriteRangeTable", "range tables"));
    std::map<std::string, int> bits;
    MIXQ_RETURN_IF_ERROR(WithContext(quant::PlanStaticActivations(impl->graph(), options, &bits), "WriteRangeTable"));
    quant::RangeTable table;
    table.network_hash = state->network_hash;
    if (!state->observers.empty()) table.algorithm = quant::RangeAlgorithmName(state->algorithm);
    auto add = [&](const std::string& name) -> Status {
      // Tensors this config does not quantize still get a row, at 8 bits.
      const auto it = bits.find(name);
      const int b = it == bits.end() ? 8 : it->second;
      return quant::RangeFromState(*state, name, b, passes::SymmetricActivations(options, b), &table.ranges[name]);
    };
    for (const auto& [name, observer] : state->observers)
      MIXQ_RETURN_IF_ERROR(WithContext(add(name), "WriteRangeTable"));
    for (const auto& [name, range] : state->table_ranges)
      MIXQ_RETURN_IF_ERROR(WithContext(add(name), "WriteRangeTable"));
    const std::string text = quant::FormatRangeTable(table);
    return WithContext(WriteWholeFile(path, text.data(), text.size()), "WriteRangeTable");
  }

  Status ReadRangeTable(INetwork* network, const std::string& path) override {
    NetworkImpl* impl = nullptr;
    MIXQ_RETURN_IF_ERROR(NetworkOf(network, "ReadRangeTable", &impl));
    const std::string where = "ReadRangeTable('" + path + "')";
    std::string text;
    MIXQ_RETURN_IF_ERROR(WithContext(ReadWholeFile(path, &text), where));
    quant::RangeTable table;
    MIXQ_RETURN_IF_ERROR(WithContext(quant::ParseRangeTable(text, &table), where));
    std::vector<std::string> names;
    for (const auto& [name, r] : table.ranges) names.push_back(name);
    MIXQ_RETURN_IF_ERROR(WithContext(CheckNamesExist(impl->graph(), names, "the range table"), where));
    if (table.network_hash)
      MIXQ_RETURN_IF_ERROR(WithContext(CheckHash(impl->graph(), *table.network_hash, "the range table"), where));
    auto state = std::make_shared<quant::CalibrationState>();
    state->network_hash = quant::NetworkHash(impl->graph());
    state->table_ranges = std::move(table.ranges);
    impl->set_calibration(std::move(state));
    return Status::OK();
  }

  std::vector<std::string> GetWarnings() const override { return warnings_; }

 private:
  static Status CheckHash(const ir::Graph& graph, uint64_t stored, const char* what) {
    const uint64_t actual = quant::NetworkHash(graph);
    if (stored == actual) return Status::OK();
    return FailedPrecondition(what, " was made for another network (network hash ", std::hex, stored, ", this network ",
                              actual, "): same tensor names, but other weights, attributes or structure");
  }

  std::vector<std::string> warnings_;
  std::vector<CalibDataInterface*> data_;
  quant::RangeAlgorithm algorithm_ = quant::RangeAlgorithm::kLinear;
  double percentile_ = 99.99;
  int32_t bins_ = quant::TensorObserver::kDefaultNumBins;
  std::function<void(int64_t, int64_t)> progress_;
};

}  // namespace

}  // namespace mixq::api

namespace mixq {

const char* QuantizationAlgorithmName(QuantizationAlgorithm algorithm) {
  const auto value = static_cast<int32_t>(algorithm);
  if (value < 0 || value > static_cast<int32_t>(QuantizationAlgorithm::AUTO)) return "unknown";
  return quant::RangeAlgorithmName(api::ToInternal(algorithm));
}

std::unique_ptr<ICalibrator> CreateICalibrator(CalibDataInterface* data) {
  return std::make_unique<api::CalibratorImpl>(std::vector<CalibDataInterface*>{data});
}

std::unique_ptr<ICalibrator> CreateICalibrator(std::vector<CalibDataInterface*> data) {
  return std::make_unique<api::CalibratorImpl>(std::move(data));
}

}  // namespace mixq
