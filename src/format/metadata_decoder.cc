#include "format/metadata_decoder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "format/attr_codec.h"
#include "format/metadata_fields.h"
#include "ops/op_schema.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::format {

namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// A constant payload's place in the weights section, kept until all nodes are
// read so overlaps can be checked before any bytes are copied.
struct PayloadRef {
  uint64_t offset = 0;
  uint64_t size = 0;
  size_t node = 0;
  // FLOAT32 values stored as float16 / bfloat16 (FLOAT16 / BFLOAT16), kept
  // narrow by the buffer (widened when read); FLOAT32: stored as is.
  DataType encoding = DataType::FLOAT32;
};

struct DecodeContext {
  const FileSections& sections;
  size_t value_count = 0;
  size_t node_count = 0;
  std::vector<PayloadRef> payloads;
};

Status DecodeRange(const json& j, const std::string& path, ir::RangeSpec* spec) {
  MIXQ_RETURN_IF_ERROR(CheckObject(j, path, {"ranges", "axis", "force"}));
  MIXQ_RETURN_IF_ERROR(ReadInt(j["axis"], MemberPath(path, "axis"), kInt64Min, kInt64Max, &spec->axis));
  MIXQ_RETURN_IF_ERROR(ReadBool(j["force"], MemberPath(path, "force"), &spec->force));
  const std::string ranges_path = MemberPath(path, "ranges");
  const json& ranges = j["ranges"];
  MIXQ_RETURN_IF_ERROR(CheckArray(ranges, ranges_path));
  spec->ranges.resize(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    const std::string range_path = IndexPath(ranges_path, i);
    std::vector<float> pair;
    MIXQ_RETURN_IF_ERROR(ReadFloats(ranges[i], range_path, &pair));
    if (pair.size() != 2) return FieldError(range_path, StrCat("must be [min, max], got ", pair.size(), " numbers"));
    spec->ranges[i] = Range{pair[0], pair[1]};
  }
  return Status::OK();
}

Status DecodeValue(const json& j, const std::string& path, DecodeContext& ctx, ir::Value* v) {
  MIXQ_RETURN_IF_ERROR(
      CheckObject(j, path, {"name", "dtype", "shape", "producer", "producer_output"}, {"range", "boundary_precision"}));
  MIXQ_RETURN_IF_ERROR(ReadString(j["name"], MemberPath(path, "name"), &v->name));
  MIXQ_RETURN_IF_ERROR(ReadDataType(j["dtype"], MemberPath(path, "dtype"), &v->dtype));
  MIXQ_RETURN_IF_ERROR(ReadInts(j["shape"], MemberPath(path, "shape"), ir::kDynamic, kInt64Max, &v->shape));
  MIXQ_RETURN_IF_ERROR(ReadIntAs(j["producer"], MemberPath(path, "producer"), -1,
                                 static_cast<int64_t>(ctx.node_count) - 1, &v->producer));
  MIXQ_RETURN_IF_ERROR(
      ReadIntAs(j["producer_output"], MemberPath(path, "producer_output"), 0, kInt64Max, &v->producer_output));
  if (j.contains("range")) {
    v->range.emplace();
    MIXQ_RETURN_IF_ERROR(DecodeRange(j["range"], MemberPath(path, "range"), &*v->range));
  }
  if (j.contains("boundary_precision")) {
    DataType t;
    MIXQ_RETURN_IF_ERROR(ReadDataType(j["boundary_precision"], MemberPath(path, "boundary_precision"), &t));
    v->boundary_precision = t;
  }
  return Status::OK();
}

// Precision overrides: [{"index": i, "dtype": "QINT8"}, ...], i < `limit`.
Status DecodeOverrides(const json& j, const std::string& path, size_t limit, std::map<size_t, DataType>* out) {
  MIXQ_RETURN_IF_ERROR(CheckArray(j, path));
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string item = IndexPath(path, i);
    MIXQ_RETURN_IF_ERROR(CheckObject(j[i], item, {"index", "dtype"}));
    int64_t index = 0;
    DataType dtype;
    MIXQ_RETURN_IF_ERROR(ReadInt(j[i]["index"], MemberPath(item, "index"), 0, static_cast<int64_t>(limit) - 1, &index));
    MIXQ_RETURN_IF_ERROR(ReadDataType(j[i]["dtype"], MemberPath(item, "dtype"), &dtype));
    if (!out->emplace(static_cast<size_t>(index), dtype).second)
      return FieldError(MemberPath(item, "index"), StrCat("repeats index ", index));
  }
  return Status::OK();
}

Status DecodeTypes(const json& j, const std::string& path, std::vector<DataType>* out) {
  MIXQ_RETURN_IF_ERROR(CheckArray(j, path));
  out->resize(j.size());
  for (size_t i = 0; i < j.size(); ++i) MIXQ_RETURN_IF_ERROR(ReadDataType(j[i], IndexPath(path, i), &(*out)[i]));
  return Status::OK();
}

// Quantization bindings: null or {bits, symmetric, dynamic, axis, scales,
// zero_points}. Only types are checked here; what the values must satisfy is
// CheckPlannedPrecisions' job, once shapes are inferred.
Status DecodeBindings(const json& j, const std::string& path, std::vector<std::optional<ir::QuantBinding>>* out) {
  MIXQ_RETURN_IF_ERROR(CheckArray(j, path));
  out->assign(j.size(), std::nullopt);
  for (size_t i = 0; i < j.size(); ++i) {
    if (j[i].is_null()) continue;
    const std::string item = IndexPath(path, i);
    MIXQ_RETURN_IF_ERROR(CheckObject(j[i], item, {"bits", "symmetric", "dynamic", "axis", "scales", "zero_points"}));
    ir::QuantBinding b;
    MIXQ_RETURN_IF_ERROR(ReadIntAs(j[i]["bits"], MemberPath(item, "bits"), 1, 64, &b.bits));
    MIXQ_RETURN_IF_ERROR(ReadBool(j[i]["symmetric"], MemberPath(item, "symmetric"), &b.symmetric));
    MIXQ_RETURN_IF_ERROR(ReadBool(j[i]["dynamic"], MemberPath(item, "dynamic"), &b.dynamic));
    MIXQ_RETURN_IF_ERROR(ReadInt(j[i]["axis"], MemberPath(item, "axis"), kInt64Min, kInt64Max, &b.axis));
    MIXQ_RETURN_IF_ERROR(ReadFloats(j[i]["scales"], MemberPath(item, "scales"), &b.scales));
    std::vector<int64_t> zero_points;
    MIXQ_RETURN_IF_ERROR(
        ReadInts(j[i]["zero_points"], MemberPath(item, "zero_points"), INT32_MIN, INT32_MAX, &zero_points));
    b.zero_points.assign(zero_points.begin(), zero_points.end());
    (*out)[i] = std::move(b);
  }
  return Status::OK();
}

// Bytes a Constant of `dtype` and `dims` needs, or false if a dim is negative
// or the total exceeds `cap` (checked without overflow).
bool ConstantBytes(DataType dtype, const std::vector<int64_t>& dims, uint64_t cap, uint64_t* bytes) {
  if (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; })) return false;
  *bytes = 0;
  if (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d == 0; })) return true;
  uint64_t total = DataTypeSize(dtype);
  for (int64_t d : dims) {
    if (total > cap / static_cast<uint64_t>(d)) return false;
    total *= static_cast<uint64_t>(d);
  }
  *bytes = total;
  return true;
}

Status DecodeConstant(const json& j, const std::string& path, size_t node_index, const ir::Node& node,
                      DecodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(CheckObject(j, path, {"offset", "size"}, {"encoding"}));
  const int64_t weights_size = static_cast<int64_t>(ctx.sections.weights_size);
  int64_t offset = 0, size = 0;
  MIXQ_RETURN_IF_ERROR(ReadInt(j["offset"], MemberPath(path, "offset"), 0, weights_size, &offset));
  MIXQ_RETURN_IF_ERROR(ReadInt(j["size"], MemberPath(path, "size"), 0, weights_size - offset, &size));
  if (offset % static_cast<int64_t>(kPayloadAlignment) != 0)
    return FieldError(MemberPath(path, "offset"), StrCat("is ", offset, ", not ", kPayloadAlignment, "-byte aligned"));
  // Checked here, before ir::VerifyGraph, because the verifier's element
  // count would overflow on the huge dims a corrupted file can carry.
  const std::string dtype_name = node.attrs.Str("dtype", "FLOAT32");
  DataType dtype;
  if (!ParseDataType(dtype_name, &dtype))
    return FieldError(MemberPath(IndexPath("nodes", node_index), "attrs.dtype"),
                      StrCat("is '", dtype_name, "', not a data type"));
  DataType encoding = DataType::FLOAT32;
  if (j.contains("encoding")) {
    std::string name;
    MIXQ_RETURN_IF_ERROR(ReadString(j["encoding"], MemberPath(path, "encoding"), &name));
    if (name != "float16" && name != "bfloat16")
      return FieldError(MemberPath(path, "encoding"), StrCat("is '", name, "', not 'float16' or 'bfloat16'"));
    if (dtype != DataType::FLOAT32)
      return FieldError(MemberPath(path, "encoding"),
                        StrCat("is '", name, "' but the constant's dtype is ", dtype_name, ", not FLOAT32"));
    encoding = name == "float16" ? DataType::FLOAT16 : DataType::BFLOAT16;
  }
  const bool half = encoding != DataType::FLOAT32;
  const std::vector<int64_t> dims = node.attrs.Ints("shape");
  uint64_t expected = 0;
  const bool fits = ConstantBytes(half ? encoding : dtype, dims, ctx.sections.weights_size, &expected);
  if (!fits || expected != static_cast<uint64_t>(size))
    return FieldError(MemberPath(path, "size"),
                      StrCat("is ", size, " bytes but the constant's dtype ", dtype_name,
                             half ? StrCat(" (as ", DataTypeName(encoding), ")") : std::string(), " and shape ",
                             ir::ShapeString(dims), " need ",
                             fits ? StrCat(expected) : std::string("more than the weights section holds")));
  ctx.payloads.push_back({static_cast<uint64_t>(offset), static_cast<uint64_t>(size), node_index, encoding});
  return Status::OK();
}

Status DecodeNode(const json& j, const std::string& path, size_t index, DecodeContext& ctx, ir::Node* n) {
  MIXQ_RETURN_IF_ERROR(CheckObject(j, path,
                                   {"name", "op", "inputs", "outputs", "attrs", "input_precision", "output_type",
                                    "input_compute", "output_compute", "input_quant"},
                                   {"constant"}));
  MIXQ_RETURN_IF_ERROR(ReadString(j["name"], MemberPath(path, "name"), &n->name));
  std::string op;
  MIXQ_RETURN_IF_ERROR(ReadString(j["op"], MemberPath(path, "op"), &op));
  const ops::OpSchema* schema = ops::FindSchema(op);
  if (!schema) return FieldError(MemberPath(path, "op"), StrCat("is '", op, "', not an operator this build knows"));
  n->op = schema->kind;
  const int64_t last_value = static_cast<int64_t>(ctx.value_count) - 1;
  std::vector<int64_t> ids;
  MIXQ_RETURN_IF_ERROR(ReadInts(j["inputs"], MemberPath(path, "inputs"), -1, last_value, &ids));
  n->inputs.assign(ids.begin(), ids.end());
  MIXQ_RETURN_IF_ERROR(ReadInts(j["outputs"], MemberPath(path, "outputs"), 0, last_value, &ids));
  n->outputs.assign(ids.begin(), ids.end());

  const json& attrs = j["attrs"];
  const std::string attrs_path = MemberPath(path, "attrs");
  if (!attrs.is_object()) return FieldError(attrs_path, StrCat("must be an object, got ", attrs.type_name()));
  for (const auto& item : attrs.items()) {
    ir::AttrValue value;
    MIXQ_RETURN_IF_ERROR(DecodeAttr(item.value(), MemberPath(attrs_path, item.key()), &value));
    n->attrs.Set(item.key(), std::move(value));
  }
  MIXQ_RETURN_IF_ERROR(DecodeOverrides(j["input_precision"], MemberPath(path, "input_precision"), n->inputs.size(),
                                       &n->input_precision));
  MIXQ_RETURN_IF_ERROR(
      DecodeOverrides(j["output_type"], MemberPath(path, "output_type"), n->outputs.size(), &n->output_type));

  MIXQ_RETURN_IF_ERROR(DecodeTypes(j["input_compute"], MemberPath(path, "input_compute"), &n->input_compute));
  MIXQ_RETURN_IF_ERROR(DecodeTypes(j["output_compute"], MemberPath(path, "output_compute"), &n->output_compute));
  MIXQ_RETURN_IF_ERROR(DecodeBindings(j["input_quant"], MemberPath(path, "input_quant"), &n->input_quant));

  const std::string constant_path = MemberPath(path, "constant");
  if (n->op == OpKind::kConstant) {
    if (!j.contains("constant")) return FieldError(constant_path, "is missing (a Constant node needs its payload)");
    MIXQ_RETURN_IF_ERROR(DecodeConstant(j["constant"], constant_path, index, *n, ctx));
  } else if (j.contains("constant")) {
    return FieldError(constant_path, StrCat("is present but only Constant nodes carry a payload, this is ", op));
  }
  return Status::OK();
}

Status DecodeGraphIds(const json& j, const std::string& path, size_t value_count, bool unique, std::vector<int>* out) {
  std::vector<int64_t> ids;
  MIXQ_RETURN_IF_ERROR(ReadInts(j, path, 0, static_cast<int64_t>(value_count) - 1, &ids));
  out->assign(ids.begin(), ids.end());
  if (unique) {
    std::vector<int64_t> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) return FieldError(path, StrCat("lists value id ", *dup, " twice"));
  }
  return Status::OK();
}

// Every produced value must sit in its producer's outputs at the position it
// claims; the verifier checks the other direction (outputs -> producer).
Status CheckProducers(const ir::Graph& graph) {
  for (size_t i = 0; i < graph.value_count(); ++i) {
    const ir::Value& v = *graph.value(static_cast<int>(i));
    if (v.producer < 0) continue;
    const ir::Node& producer = *graph.node(v.producer);
    const size_t slot = static_cast<size_t>(v.producer_output);
    if (slot >= producer.outputs.size() || producer.outputs[slot] != v.id)
      return FieldError(MemberPath(IndexPath("values", i), "producer_output"),
                        StrCat("is ", v.producer_output, " but node ", v.producer, " ('", producer.name,
                               "') does not produce value ", v.id, " there"));
  }
  return Status::OK();
}

// Distinct payload ranges must not overlap (identical ones are shared), which
// bounds the bytes copied out to the size of the weights section.
Status AttachPayloads(DecodeContext& ctx, ir::Graph* graph) {
  std::sort(ctx.payloads.begin(), ctx.payloads.end(), [](const PayloadRef& a, const PayloadRef& b) {
    return std::tie(a.offset, a.size, a.node) < std::tie(b.offset, b.size, b.node);
  });
  std::shared_ptr<const ir::Buffer> previous;
  const PayloadRef* last = nullptr;
  for (const PayloadRef& p : ctx.payloads) {
    if (last && p.offset == last->offset && p.size == last->size && p.encoding == last->encoding) {
      graph->node(static_cast<int>(p.node))->constant = previous;
      continue;
    }
    if (last && p.offset < last->offset + last->size)
      return FieldError(
          MemberPath(IndexPath("nodes", p.node), "constant"),
          StrCat("bytes [", p.offset, ", ", p.offset + p.size, ") overlap the payload of nodes[", last->node, "]"));
    std::shared_ptr<ir::Buffer> payload;
    if (p.encoding != DataType::FLOAT32) {
      // The FLOAT32 the node holds, kept narrow: widened (exactly) when a
      // kernel packs it or a reader asks (ir::Buffer).
      payload = std::make_shared<ir::Buffer>(ctx.sections.weights + p.offset, static_cast<size_t>(p.size) / 2,
                                             p.encoding, ctx.sections.mapping);
      MIXQ_RETURN_IF_ERROR(ir::CheckAllocated(*payload, MemberPath(IndexPath("nodes", p.node), "constant")));
    } else {
      const uint8_t* bytes = ctx.sections.weights + p.offset;
      if (ctx.sections.mapping && reinterpret_cast<uintptr_t>(bytes) % kPayloadAlignment == 0)
        payload = std::make_shared<ir::Buffer>(bytes, p.size, ctx.sections.mapping);  // in place
      else
        payload = std::make_shared<ir::Buffer>(bytes, p.size);
      MIXQ_RETURN_IF_ERROR(ir::CheckAllocated(*payload, MemberPath(IndexPath("nodes", p.node), "constant")));
    }
    previous = std::move(payload);
    graph->node(static_cast<int>(p.node))->constant = previous;
    last = &p;
  }
  return Status::OK();
}

}  // namespace

Status DecodeModel(const json& metadata, const FileSections& sections, ModelData* model) {
  MIXQ_RETURN_IF_ERROR(
      CheckObject(metadata, "", {"name", "build_config", "report", "values", "nodes", "inputs", "outputs"}));
  MIXQ_RETURN_IF_ERROR(ReadString(metadata["name"], "name", &model->name));
  MIXQ_RETURN_IF_ERROR(ReadString(metadata["build_config"], "build_config", &model->build_config_json));
  MIXQ_RETURN_IF_ERROR(ReadString(metadata["report"], "report", &model->report_json));
  const json& values = metadata["values"];
  const json& nodes = metadata["nodes"];
  MIXQ_RETURN_IF_ERROR(CheckArray(values, "values"));
  MIXQ_RETURN_IF_ERROR(CheckArray(nodes, "nodes"));

  DecodeContext ctx{sections, values.size(), nodes.size(), {}};
  ir::Graph& graph = model->graph;
  for (size_t i = 0; i < values.size(); ++i) {
    auto v = std::make_unique<ir::Value>();
    v->id = static_cast<int>(i);
    MIXQ_RETURN_IF_ERROR(DecodeValue(values[i], IndexPath("values", i), ctx, v.get()));
    graph.raw_values().push_back(std::move(v));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto n = std::make_unique<ir::Node>();
    n->id = static_cast<int>(i);
    MIXQ_RETURN_IF_ERROR(DecodeNode(nodes[i], IndexPath("nodes", i), i, ctx, n.get()));
    graph.raw_nodes().push_back(std::move(n));
  }
  MIXQ_RETURN_IF_ERROR(DecodeGraphIds(metadata["inputs"], "inputs", values.size(), true, &graph.mutable_inputs()));
  MIXQ_RETURN_IF_ERROR(DecodeGraphIds(metadata["outputs"], "outputs", values.size(), false, &graph.mutable_outputs()));
  MIXQ_RETURN_IF_ERROR(CheckProducers(graph));
  return AttachPayloads(ctx, &graph);
}

}  // namespace mixq::format
