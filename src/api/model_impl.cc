#include "api/model_impl.h"

#include <fstream>
#include <iterator>

#include "passes/precision_report.h"
#include "runtime/engine.h"
#include "util/boundary.h"
#include "util/file_read.h"
#include "util/mapped_file.h"
#include "util/status_util.h"

namespace mixq::api {

namespace {
Status NoModel() {
  return FailedPrecondition("the model is empty: build it or deserialize one first");
}
}  // namespace

Status ModelImpl::SerializeToMemory(std::vector<uint8_t>* bytes) const {
  if (!bytes) return InvalidArgument("SerializeToMemory: bytes is null");
  if (!data_) return NoModel();
  return format::WriteModel(*data_, bytes);
}

Status ModelImpl::SerializeToFile(const std::string& path) const {
  std::vector<uint8_t> bytes;
  MIXQ_RETURN_IF_ERROR(SerializeToMemory(&bytes));
  // Write to a temporary name and rename, so a failed write never leaves a
  // truncated model where a good one was.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return NotFound("cannot open '", tmp, "' for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Internal("writing '", tmp, "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Internal("cannot rename '", tmp, "' to '", path, "'");
  return Status::OK();
}

Status ModelImpl::DeserializeFromMemory(const void* data, size_t size) {
  if (!data) return InvalidArgument("DeserializeFromMemory: data is null");
  auto model = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(StatusAtBoundary("DeserializeFromMemory", [&] {
    return format::ReadModel(static_cast<const uint8_t*>(data), size, model.get());
  }));
  data_ = std::move(model);
  return Status::OK();
}

Status ModelImpl::DeserializeFromFile(const std::string& path) {
  // A regular file is mapped and its weights used in place (util/mapped_file.h):
  // no copy of them, and once packed by the kernels they leave resident memory.
  if (std::shared_ptr<const MappedFile> mapped = MappedFile::Map(path, kMaxModelFileBytes)) {
    auto model = std::make_shared<format::ModelData>();
    MIXQ_RETURN_IF_ERROR(WithContext(
        StatusAtBoundary("DeserializeFromFile", [&] { return format::ReadModel(std::move(mapped), model.get()); }),
        "model file '" + path + "'"));
    data_ = std::move(model);
    return Status::OK();
  }
  std::vector<uint8_t> bytes;
  MIXQ_RETURN_IF_ERROR(ReadFileLimited(path, kMaxModelFileBytes, "model file", &bytes));
  return WithContext(DeserializeFromMemory(bytes.data(), bytes.size()), "model file '" + path + "'");
}

std::vector<int> ModelImpl::Ids(bool inputs) const {
  if (!data_) return {};
  return inputs ? data_->graph.inputs() : data_->graph.outputs();
}

int64_t ModelImpl::GetInputNum() const {
  return static_cast<int64_t>(Ids(true).size());
}
int64_t ModelImpl::GetOutputNum() const {
  return static_cast<int64_t>(Ids(false).size());
}

std::vector<std::string> ModelImpl::GetInputNames() const {
  std::vector<std::string> names;
  for (int id : Ids(true)) names.push_back(data_->graph.value(id)->name);
  return names;
}
std::vector<std::string> ModelImpl::GetOutputNames() const {
  std::vector<std::string> names;
  for (int id : Ids(false)) names.push_back(data_->graph.value(id)->name);
  return names;
}
std::vector<Dims> ModelImpl::GetInputDimensions() const {
  std::vector<Dims> dims;
  for (int id : Ids(true)) dims.emplace_back(data_->graph.value(id)->shape);
  return dims;
}
std::vector<Dims> ModelImpl::GetOutputDimensions() const {
  std::vector<Dims> dims;
  for (int id : Ids(false)) dims.emplace_back(data_->graph.value(id)->shape);
  return dims;
}
std::vector<DataType> ModelImpl::GetInputDataTypes() const {
  std::vector<DataType> types;
  for (int id : Ids(true)) types.push_back(data_->graph.value(id)->dtype);
  return types;
}
std::vector<DataType> ModelImpl::GetOutputDataTypes() const {
  std::vector<DataType> types;
  for (int id : Ids(false)) types.push_back(runtime::RuntimeOutputType(data_->graph, id));
  return types;
}

int64_t ModelImpl::GetWeightBytes() const {
  if (!data_) return 0;
  int64_t total = 0;
  for (size_t i = 0; i < data_->graph.node_count(); ++i) {
    const auto& node = *data_->graph.node(static_cast<int>(i));
    // A loaded float16 / bfloat16 weight is held in 16 bits (ir::Buffer::narrow).
    if (node.constant)
      total += static_cast<int64_t>(node.constant->narrow() ? node.constant->size() / 2 : node.constant->size());
  }
  return total;
}

std::string ModelImpl::GetPrecisionReport() const {
  if (!data_) return "";
  return passes::FormatPrecisionReport(data_->report_json);
}

std::unique_ptr<IEngine> ModelImpl::CreateIEngine() const {
  if (!data_) {
    last_status_ = NoModel();
    return nullptr;
  }
  std::shared_ptr<const runtime::EngineState> state;
  last_status_ = StatusAtBoundary("CreateIEngine", [&] { return runtime::MakeEngineState(data_, &state); });
  if (!last_status_.ok()) return nullptr;
  return std::make_unique<runtime::EngineImpl>(state);
}

}  // namespace mixq::api

namespace mixq {
std::unique_ptr<IModel> CreateIModel() {
  return std::make_unique<api::ModelImpl>();
}
}  // namespace mixq
