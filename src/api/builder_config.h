// The builder configuration: JSON in, validated options out.
#pragma once

#include <string>

#include "mixq/builder.h"
#include "passes/build_options.h"

namespace mixq::api {

using passes::BuildOptions;

class BuilderConfigImpl : public IBuilderConfig {
 public:
  Status ParseFromString(const std::string& json) override;
  Status ParseFromFile(const std::string& path) override;
  std::string ToJson() const override;
  const BuildOptions& options() const { return options_; }

 private:
  BuildOptions options_;
};

}  // namespace mixq::api
