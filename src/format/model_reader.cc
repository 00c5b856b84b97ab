// ReadModel: the verified reader. Order of checks: container (magic, version,
// header, bounds, checksum) -> CBOR -> every metadata field -> ir::VerifyGraph
// -> stored types and shapes equal the inferred ones -> planned precisions and
// quantization bindings fit the graph. Nothing from the file is used before
// the check that covers it, and no exception escapes.
#include <new>
#include <nlohmann/json.hpp>
#include <utility>

#include "format/cbor_reader.h"
#include "format/file_layout.h"
#include "format/metadata_decoder.h"
#include "format/model_file.h"
#include "format/plan_checks.h"
#include "ops/graph_verifier.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {

// Inference re-derives every produced value's dtype and shape; a file whose
// stored ones differ is inconsistent, and silently replacing them would load
// a different model than the one written.
Status CheckStoredTypes(const std::vector<std::pair<DataType, ir::Shape>>& stored, const ir::Graph& graph) {
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const ir::Value& v = *graph.value(static_cast<int>(i));
    if (stored[i].first != v.dtype || stored[i].second != v.shape)
      return InvalidArgument("model metadata: 'values[", i, "]' ('", v.name, "') is stored as ",
                             DataTypeName(stored[i].first), " ", ir::ShapeString(stored[i].second),
                             " but the graph infers ", DataTypeName(v.dtype), " ", ir::ShapeString(v.shape));
  }
  return Status::OK();
}

Status Read(const uint8_t* data, size_t size, std::shared_ptr<const MappedFile> mapping, ModelData* model) {
  FileSections sections;
  MIXQ_RETURN_IF_ERROR(OpenModelFile(data, size, &sections));
  sections.mapping = std::move(mapping);
  nlohmann::json metadata;
  MIXQ_RETURN_IF_ERROR(ParseCbor(sections.metadata, sections.metadata_size, sections.metadata_offset, &metadata));
  ModelData decoded;
  MIXQ_RETURN_IF_ERROR(DecodeModel(metadata, sections, &decoded));
  metadata = nlohmann::json();  // free the tree before the graph work

  std::vector<std::pair<DataType, ir::Shape>> stored;
  for (size_t i = 0; i < decoded.graph.value_count(); ++i) {
    const ir::Value& v = *decoded.graph.value(static_cast<int>(i));
    stored.emplace_back(v.dtype, v.shape);
  }
  Status verified = ir::VerifyGraph(decoded.graph);
  if (!verified.ok()) return WithContext(verified, "the model file holds an invalid graph");
  MIXQ_RETURN_IF_ERROR(CheckStoredTypes(stored, decoded.graph));
  MIXQ_RETURN_IF_ERROR(CheckPlannedPrecisions(decoded.graph));

  // Only a fully verified model replaces the caller's.
  model->name = std::move(decoded.name);
  model->graph = decoded.graph;
  model->build_config_json = std::move(decoded.build_config_json);
  model->report_json = std::move(decoded.report_json);
  return Status::OK();
}

Status ReadCatching(const uint8_t* data, size_t size, std::shared_ptr<const MappedFile> mapping, ModelData* model) {
  if (model == nullptr) return InvalidArgument("ReadModel: the output model is null");
  try {
    return Read(data, size, std::move(mapping), model);
  } catch (const std::bad_alloc&) {
    return DataLoss("out of memory while reading a ", size, "-byte model file");
  } catch (const std::exception& e) {
    // Every check above returns a Status; reaching this is a reader bug, but
    // the caller still gets an error instead of a crash.
    return DataLoss("the model file could not be read: ", e.what());
  }
}

}  // namespace

Status ReadModel(const uint8_t* data, size_t size, ModelData* model) {
  return ReadCatching(data, size, nullptr, model);
}

Status ReadModel(std::shared_ptr<const MappedFile> file, ModelData* model) {
  if (file == nullptr) return InvalidArgument("ReadModel: the mapped file is null");
  const uint8_t* data = file->data();
  const size_t size = file->size();
  const Status status = ReadCatching(data, size, file, model);
  // The checksum read every page: hand them back; the constants kernels use
  // fault in again as they are read.
  file->Release(data, size);
  return status;
}

}  // namespace mixq::format
