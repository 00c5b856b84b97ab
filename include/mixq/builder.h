// Turning a network into a deployable model: builder configuration and builder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

class IModel;

// Build options, set from JSON, for example
//   {"precision_config": {"precision_mode": "force_float32"}}
// Unknown keys or values are errors that name the key.
class IBuilderConfig {
 public:
  virtual ~IBuilderConfig() = default;
  // Merges the keys of `json` into the configuration (later calls override).
  virtual Status ParseFromString(const std::string& json) = 0;
  virtual Status ParseFromFile(const std::string& path) = 0;
  // The whole configuration, every key with its current value, as JSON.
  virtual std::string ToJson() const = 0;
};

class IBuilder {
 public:
  virtual ~IBuilder() = default;
  // Null on failure; GetLastStatus() names the node, tensor or key at fault.
  // `config` may be null (all defaults).
  virtual std::unique_ptr<IModel> BuildModel(const std::string& name, INetwork* network,
                                             IBuilderConfig* config) = 0;
  virtual Status GetLastStatus() const = 0;
  // Warnings of the last successful BuildModel, one sentence each: for
  // example a quantization range that clips more than
  // precision_config.clip_warning_percent of a tensor's calibration values or
  // removes more than clip_warning_energy_percent of their energy (naming the
  // tensor, its observed max |x| and the range). Empty when there is nothing
  // to say.
  virtual std::vector<std::string> GetWarnings() const { return {}; }
};

std::unique_ptr<IBuilderConfig> CreateIBuilderConfig();
std::unique_ptr<IBuilder> CreateIBuilder();

}  // namespace mixq
