// WriteModel: graph -> CBOR metadata + aligned weights, in the container of
// file_layout.h. The metadata names ops and data types by their names, never
// by enum numbers, so ops.def and DataType can be reordered without breaking
// existing files.
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "format/attr_codec.h"
#include "format/file_layout.h"
#include "format/model_file.h"
#include "format/plan_checks.h"
#include "ops/graph_verifier.h"
#include "ops/op_schema.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {

using nlohmann::json;

// Where each distinct constant payload goes inside the weights section.
struct PayloadSlot {
  size_t offset = 0;
  size_t size = 0;
  // FLOAT32: stored as is; FLOAT16 / BFLOAT16: a FLOAT32 constant stored in
  // 16 bits ("encoding": "float16" / "bfloat16").
  DataType encoding = DataType::FLOAT32;
};

// FLOAT32 constants that every consumer computes in FLOAT16 (or every one in
// BFLOAT16) are rounded to that type when an engine is made
// (passes/qdq_placement.cc), so the file keeps their payload in 16 bits:
// half the bytes, the same values once read back (the reader widens them to
// float32). Decided per buffer: every Constant node sharing it must qualify,
// in the same type.
std::map<const ir::Buffer*, DataType> NarrowPayloads(const ir::Graph& g) {
  // constant value -> the narrow type all its uses compute in (FLOAT32: none)
  std::map<int, DataType> qualifies;
  for (size_t i = 0; i < g.node_count(); ++i) {
    const ir::Node& n = *g.node(static_cast<int>(i));
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v < 0 || g.value(v)->producer < 0 || g.node(g.value(v)->producer)->op != OpKind::kConstant) continue;
      const DataType c = k < n.input_compute.size() ? n.input_compute[k] : DataType::FLOAT32;
      const DataType narrow = c == DataType::FLOAT16 || c == DataType::BFLOAT16 ? c : DataType::FLOAT32;
      auto [it, fresh] = qualifies.emplace(v, narrow);
      if (!fresh && it->second != narrow) it->second = DataType::FLOAT32;
    }
  }
  for (int o : g.outputs()) qualifies[o] = DataType::FLOAT32;
  std::map<const ir::Buffer*, DataType> buffers;
  for (size_t i = 0; i < g.node_count(); ++i) {
    const ir::Node& n = *g.node(static_cast<int>(i));
    if (n.op != OpKind::kConstant || !n.constant || n.outputs.size() != 1) continue;
    auto q = qualifies.find(n.outputs[0]);
    const bool float32 =
        g.value(n.outputs[0])->dtype == DataType::FLOAT32 && n.attrs.Str("dtype", "FLOAT32") == "FLOAT32";
    const DataType narrow = q != qualifies.end() && float32 ? q->second : DataType::FLOAT32;
    auto [it, fresh] = buffers.emplace(n.constant.get(), narrow);
    if (!fresh && it->second != narrow) it->second = DataType::FLOAT32;
  }
  std::map<const ir::Buffer*, DataType> result;
  for (const auto& [buffer, narrow] : buffers)
    if (narrow != DataType::FLOAT32) result[buffer] = narrow;
  return result;
}

json EncodeOverrides(const std::map<size_t, DataType>& overrides) {
  json list = json::array();
  for (const auto& [index, dtype] : overrides) list.push_back({{"index", index}, {"dtype", DataTypeName(dtype)}});
  return list;
}

json EncodeTypes(const std::vector<DataType>& types) {
  json list = json::array();
  for (DataType t : types) list.push_back(DataTypeName(t));
  return list;
}

json EncodeBindings(const std::vector<std::optional<ir::QuantBinding>>& bindings) {
  json list = json::array();
  for (const auto& b : bindings) {
    if (!b) {
      list.push_back(nullptr);
      continue;
    }
    list.push_back({{"bits", b->bits},
                    {"symmetric", b->symmetric},
                    {"dynamic", b->dynamic},
                    {"axis", b->axis},
                    {"scales", b->scales},
                    {"zero_points", b->zero_points}});
  }
  return list;
}

json EncodeValue(const ir::Value& v) {
  json encoded = {{"name", v.name},
                  {"dtype", DataTypeName(v.dtype)},
                  {"shape", v.shape},
                  {"producer", v.producer},
                  {"producer_output", v.producer_output}};
  if (v.range) {
    json ranges = json::array();
    for (const Range& r : v.range->ranges) ranges.push_back({r.min, r.max});
    encoded["range"] = {{"ranges", ranges}, {"axis", v.range->axis}, {"force", v.range->force}};
  }
  if (v.boundary_precision) encoded["boundary_precision"] = DataTypeName(*v.boundary_precision);
  return encoded;
}

json EncodeNode(const ir::Node& n, const std::map<const ir::Buffer*, PayloadSlot>& slots) {
  json attrs = json::object();
  for (const auto& [name, value] : n.attrs.values()) attrs[name] = EncodeAttr(value);
  json encoded = {{"name", n.name},
                  {"op", ops::GetSchema(n.op).name},
                  {"inputs", n.inputs},
                  {"outputs", n.outputs},
                  {"attrs", attrs},
                  {"input_precision", EncodeOverrides(n.input_precision)},
                  {"output_type", EncodeOverrides(n.output_type)},
                  {"input_compute", EncodeTypes(n.input_compute)},
                  {"output_compute", EncodeTypes(n.output_compute)},
                  {"input_quant", EncodeBindings(n.input_quant)}};
  if (n.op == OpKind::kConstant) {
    const PayloadSlot& slot = slots.at(n.constant.get());
    encoded["constant"] = {{"offset", slot.offset}, {"size", slot.size}};
    if (slot.encoding != DataType::FLOAT32)
      encoded["constant"]["encoding"] = slot.encoding == DataType::FLOAT16 ? "float16" : "bfloat16";
  }
  return encoded;
}

// The reader rejects what it cannot rebuild exactly, so the writer refuses
// the same models up front rather than producing a file that will not load.
Status CheckWritable(const ir::Graph& graph, const ir::Graph& verified) {
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const ir::Value& stored = *graph.value(static_cast<int>(i));
    const ir::Value& inferred = *verified.value(static_cast<int>(i));
    if (stored.dtype != inferred.dtype || stored.shape != inferred.shape)
      return InvalidArgument("cannot write the model: tensor '", stored.name, "' is ", DataTypeName(stored.dtype), " ",
                             ir::ShapeString(stored.shape), " but the graph infers ", DataTypeName(inferred.dtype), " ",
                             ir::ShapeString(inferred.shape), "; run ir::VerifyGraph before writing");
  }
  for (size_t i = 0; i < graph.node_count(); ++i) {
    const ir::Node& node = *graph.node(static_cast<int>(i));
    for (const auto& [index, dtype] : node.input_precision)
      if (index >= node.inputs.size())
        return InvalidArgument("cannot write the model: ", ir::NodeLabel(graph, node), " has a precision for input ",
                               index, " but only ", node.inputs.size(), " inputs");
    for (const auto& [index, dtype] : node.output_type)
      if (index >= node.outputs.size())
        return InvalidArgument("cannot write the model: ", ir::NodeLabel(graph, node), " has a type for output ", index,
                               " but only ", node.outputs.size(), " outputs");
  }
  return Status::OK();
}

Status Write(const ModelData& model, std::vector<uint8_t>* bytes) {
  // Verify a copy (constants are shared, not copied): it fills attribute
  // defaults, so the file holds every attribute explicitly.
  ir::Graph graph = model.graph;
  Status verified = ir::VerifyGraph(graph);
  if (!verified.ok()) return WithContext(verified, "cannot write an invalid model");
  MIXQ_RETURN_IF_ERROR(CheckWritable(model.graph, graph));
  MIXQ_RETURN_IF_ERROR(WithContext(CheckPlannedPrecisions(graph), "cannot write the model, it would not read back"));

  // Nodes sharing one Buffer share one payload in the file.
  std::map<const ir::Buffer*, PayloadSlot> slots;
  std::vector<std::pair<const ir::Buffer*, PayloadSlot>> payloads;
  size_t weights_size = 0;
  const std::map<const ir::Buffer*, DataType> narrow = NarrowPayloads(graph);
  for (size_t i = 0; i < graph.node_count(); ++i) {
    const ir::Node& node = *graph.node(static_cast<int>(i));
    if (node.op != OpKind::kConstant || slots.count(node.constant.get())) continue;
    const auto found = narrow.find(node.constant.get());
    const DataType encoding = found == narrow.end() ? DataType::FLOAT32 : found->second;
    PayloadSlot slot{AlignUp(weights_size, kPayloadAlignment),
                     encoding != DataType::FLOAT32 ? node.constant->size() / 2 : node.constant->size(), encoding};
    weights_size = slot.offset + slot.size;
    slots[node.constant.get()] = slot;
    payloads.emplace_back(node.constant.get(), slot);
  }

  json values = json::array();
  for (size_t i = 0; i < graph.value_count(); ++i) values.push_back(EncodeValue(*graph.value(static_cast<int>(i))));
  json nodes = json::array();
  for (size_t i = 0; i < graph.node_count(); ++i) nodes.push_back(EncodeNode(*graph.node(static_cast<int>(i)), slots));
  const json metadata = {{"name", model.name},
                         {"build_config", model.build_config_json},
                         {"report", model.report_json},
                         {"values", values},
                         {"nodes", nodes},
                         {"inputs", graph.inputs()},
                         {"outputs", graph.outputs()}};
  // json objects are sorted maps, so equal models give identical bytes.
  const std::vector<uint8_t> cbor = json::to_cbor(metadata);

  std::vector<uint8_t> out;
  const size_t weights_offset = LayOutModelFile(cbor, weights_size, &out);
  for (const auto& [buffer, slot] : payloads) {
    uint8_t* dst = out.data() + weights_offset + slot.offset;
    if (slot.encoding != DataType::FLOAT32 && buffer->narrow() && buffer->encoding() == slot.encoding) {
      std::memcpy(dst, buffer->narrow_data(), slot.size);  // a loaded model's 16-bit bytes, as read
    } else if (slot.encoding != DataType::FLOAT32) {
      // Pinned, not data(): a narrow buffer (the other 16-bit type) keeps no float32 copy.
      const std::shared_ptr<const void> pin = buffer->Pin();
      if (!pin) return ResourceExhausted("writing the model: out of memory widening a float16 / bfloat16 constant");
      const auto* x = static_cast<const float*>(pin.get());
      const bool bfloat16 = slot.encoding == DataType::BFLOAT16;
      for (size_t e = 0; e < slot.size / 2; ++e) {
        const uint16_t h = bfloat16 ? FloatToBFloat16(x[e]) : FloatToHalf(x[e]);
        std::memcpy(dst + 2 * e, &h, 2);
      }
    } else if (slot.size) {
      const std::shared_ptr<const void> pin = buffer->Pin();
      if (!pin) return ResourceExhausted("writing the model: out of memory widening a float16 / bfloat16 constant");
      std::memcpy(dst, pin.get(), slot.size);
    }
  }
  SealModelFile(&out);
  *bytes = std::move(out);
  return Status::OK();
}

}  // namespace

Status WriteModel(const ModelData& model, std::vector<uint8_t>* bytes) {
  if (bytes == nullptr) return InvalidArgument("WriteModel: the output byte vector is null");
  try {
    return Write(model, bytes);
  } catch (const std::bad_alloc&) {
    return Internal("out of memory while writing model '", model.name, "'");
  } catch (const std::exception& e) {
    return Internal("writing model '", model.name, "' failed: ", e.what());
  }
}

}  // namespace mixq::format
