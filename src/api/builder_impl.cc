// IBuilder: runs the build pipeline over a network and wraps the result as an IModel.
#include "api/builder_config.h"
#include "api/model_impl.h"
#include "api/network_impl.h"
#include "api/speed_check.h"
#include "calibration/calib_state.h"
#include "calibration/clip_check.h"
#include "ops/onednn_support.h"
#include "passes/build_pipeline.h"
#include "util/boundary.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {

class BuilderImpl : public IBuilder {
 public:
  std::unique_ptr<IModel> BuildModel(const std::string& name, INetwork* network, IBuilderConfig* config) override {
    last_status_ = StatusAtBoundary("BuildModel", [&] { return Build(name, network, config); });
    if (!last_status_.ok()) return nullptr;
    return std::make_unique<ModelImpl>(std::move(built_));
  }
  Status GetLastStatus() const override { return last_status_; }
  std::vector<std::string> GetWarnings() const override { return warnings_; }

 private:
  Status Build(const std::string& name, INetwork* network, IBuilderConfig* config) {
    warnings_.clear();
    if (!network) return InvalidArgument("BuildModel: network is null");
    NetworkImpl* impl = ToImpl(network);
    if (!impl) return InvalidArgument("BuildModel: network was not created by CreateINetwork");
    BuilderConfigImpl defaults;
    BuilderConfigImpl* options = config ? dynamic_cast<BuilderConfigImpl*>(config) : &defaults;
    if (!options) return InvalidArgument("BuildModel: config was not created by CreateIBuilderConfig");
    // Calibration statistics become ranges here, with this config's bit widths and symmetry.
    passes::CalibratedRanges calibrated;
    MIXQ_RETURN_IF_ERROR(
        WithContext(quant::CalibratedRangesFor(impl->graph(), options->options(), impl->calibration(), &calibrated),
                    "BuildModel('" + name + "')"));
    auto model = std::make_shared<format::ModelData>();
    MIXQ_RETURN_IF_ERROR(
        WithContext(passes::BuildModelData(name, impl->graph(), options->options(), calibrated, options->ToJson(),
                                           model.get(), impl->calibration() ? &impl->calibration()->channels : nullptr),
                    "BuildModel('" + name + "')"));
    if (options->options().speed_check == "on" && options->options().precision_mode.starts_with("qint")) {
      SpeedCheckBuild check{
          name,       &impl->graph(),    options->options(),
          calibrated, options->ToJson(), impl->calibration() ? &impl->calibration()->channels : nullptr};
      MIXQ_RETURN_IF_ERROR(WithContext(RunSpeedCheck(check, &model), "BuildModel('" + name + "')"));
    }
    MIXQ_RETURN_IF_ERROR(WithContext(
        quant::ClippingWarnings(impl->graph(), options->options(), impl->calibration(), calibrated, &warnings_),
        "BuildModel('" + name + "')"));
    // bfloat16 arithmetic needs bfloat16 dot products; without them the
    // mode is storage only, and slower than float32 (docs/precision.md).
    if (options->options().precision_mode == "force_bfloat16" && !ops::BFloat16ArithmeticAvailable())
      warnings_.push_back(
          "force_bfloat16: this CPU has no bfloat16 dot products (AVX512_BF16): here the model keeps bfloat16 "
          "storage around float32 arithmetic and runs slower than force_float32; it computes in bfloat16 on CPUs "
          "that have them (the precision report names each step's kernel)");
    built_ = std::move(model);
    return Status::OK();
  }

  Status last_status_;
  std::vector<std::string> warnings_;
  std::shared_ptr<const format::ModelData> built_;
};

}  // namespace

}  // namespace mixq::api

namespace mixq {
std::unique_ptr<IBuilder> CreateIBuilder() {
  return std::make_unique<api::BuilderImpl>();
}
}  // namespace mixq
