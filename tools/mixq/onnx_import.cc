#include "onnx_import.h"

#include "cli.h"
#include "util/status_util.h"

namespace mixq::cli {

Status ImportOnnx(const std::string& path, const std::map<std::string, Dims>& input_dims, INetwork* network) {
  auto parser = CreateIParser(ModelKind::kOnnx);
  if (!parser) return Internal("no ONNX parser");
  for (const auto& [name, dims] : input_dims)
    MIXQ_RETURN_IF_ERROR(WithContext(parser->SetInputShape(name, dims), StrCat("input shape '", name, "'")));
  MIXQ_RETURN_IF_ERROR(WithContext(parser->Parse(network, path), path));
  return WithContext(network->Verify(), path);
}

Status ParseInputShapes(const std::vector<std::string>& flags, const std::string& flag,
                        std::map<std::string, Dims>* dims) {
  for (const auto& text : flags) {
    std::string name;
    Dims d;
    MIXQ_RETURN_IF_ERROR(ParseNamedDims(text, flag, &name, &d));
    if (!dims->emplace(name, d).second) return InvalidArgument("--", flag, ": input '", name, "' given twice");
  }
  return Status::OK();
}

}  // namespace mixq::cli
