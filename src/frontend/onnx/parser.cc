// IParser for ONNX files: reads the bytes, decodes the protobuf, imports.
#include "mixq/parser.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "frontend/onnx/importer.h"
#include "util/boundary.h"
#include "util/file_read.h"
#include "util/status_util.h"

namespace mixq {

namespace {

// Names from the file may hold control characters; the message stays one line.
Status OneLine(const Status& status) {
  if (status.ok()) return status;
  std::string message = status.message();
  for (char& c : message)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return Status(status.code(), message);
}

class OnnxParser : public IParser {
 public:
  Status SetInputShape(const std::string& input_name, const Dims& dims) override {
    if (input_name.empty()) return InvalidArgument("SetInputShape: input name is empty");
    for (int64_t d : dims.GetDims())
      if (d < -1)
        return InvalidArgument("SetInputShape('", input_name, "'): dims ", dims.ToString(), " hold a value below -1");
    input_shapes_[input_name] = dims;
    return Status::OK();
  }

  Status Parse(INetwork* network, const std::string& path) override {
    std::string bytes;
    MIXQ_RETURN_IF_ERROR(ReadFileLimited(path, kMaxOnnxFileBytes, "ONNX file", &bytes));
    const std::string dir = std::filesystem::path(path).parent_path().string();
    return OneLine(WithContext(
        StatusAtBoundary("Parse", [&] { return Import(network, bytes.data(), bytes.size(), dir.empty() ? "." : dir); }),
        StrCat("ONNX file '", path, "'")));
  }

  Status ParseFromMemory(INetwork* network, const void* data, size_t size, const std::string& base_dir) override {
    return OneLine(StatusAtBoundary("ParseFromMemory", [&] { return Import(network, data, size, base_dir); }));
  }

 private:
  Status Import(INetwork* network, const void* data, size_t size, const std::string& base_dir) {
    if (!network) return InvalidArgument("network is null");
    onnx::ModelProto model;
    MIXQ_RETURN_IF_ERROR(onnx_import::ParseModelProto(data, size, &model));
    onnx_import::ImportOptions options;
    options.base_dir = base_dir;
    options.input_shapes = input_shapes_;
    return onnx_import::ImportModel(&model, network, options);
  }

  std::map<std::string, Dims> input_shapes_;
};

}  // namespace

std::unique_ptr<IParser> CreateIParser(ModelKind kind) {
  if (kind != ModelKind::kOnnx) return nullptr;
  return std::make_unique<OnnxParser>();
}

}  // namespace mixq
