#include "passes/qdq_placement.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "ops/op_schema.h"
#include "passes/build_pipeline.h"
#include "quant/quant_math.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::passes {

namespace {

bool IsQuantized(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16;
}
bool IsRealFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}
bool IsConstant(const ir::Graph& g, const ir::Value& v) {
  return v.producer >= 0 && g.node(v.producer)->op == OpKind::kConstant;
}

std::string BindingKey(const ir::QuantBinding& b) {
  std::string key = StrCat(b.bits, b.symmetric ? "s" : "a", b.dynamic ? "d" : "", b.axis);
  for (float s : b.scales) key += StrCat(",", s);
  for (int32_t z : b.zero_points) key += StrCat(";", z);
  return key;
}

DataType IntegerStorage(int bits) {
  return bits == 16 ? DataType::INT16 : DataType::INT8;
}

// Representable exactly in the node's float output type (clip bounds must be,
// or rounding the output and quantizing would not commute).
bool ExactIn(float v, DataType t) {
  if (std::isinf(v) || t == DataType::FLOAT32) return true;
  return t == DataType::FLOAT16 ? RoundToHalf(v) == v : RoundToBFloat16(v) == v;
}

class Placer {
 public:
  explicit Placer(ir::Graph* g) : g_(*g) {}

  Status Run(PlacementSummary* summary) {
    AssignStorage();
    MIXQ_RETURN_IF_ERROR(InsertConverts());
    MoveQuantizeAboveIntegerOps();
    FoldIntoProducers();
    EliminateDeadNodes(&g_);
    if (summary) {
      *summary = summary_;
      summary->quantize = summary->cast = 0;
      for (size_t n = 0; n < g_.node_count(); ++n) {
        const ir::Node& node = *g_.node(static_cast<int>(n));
        if (node.op != OpKind::kConvert) continue;
        const ir::Value& out = *g_.value(node.outputs[0]);
        (out.storage_quant ? summary->quantize : summary->cast)++;
      }
    }
    return Status::OK();
  }

 private:
  void AssignStorage() {
    for (size_t id = 0; id < g_.value_count(); ++id) {
      ir::Value& v = *g_.value(static_cast<int>(id));
      v.storage = v.dtype;
      v.storage_quant.reset();
      if (v.producer < 0 || v.dtype != DataType::FLOAT32 || IsConstant(g_, v)) continue;
      const ir::Node& p = *g_.node(v.producer);
      const size_t o = static_cast<size_t>(v.producer_output);
      if (o < p.output_compute.size() && IsRealFloat(p.output_compute[o])) v.storage = p.output_compute[o];
    }
  }

  // The value holding `source` converted to `storage` (with `binding` when
  // integer), shared by every consumer asking for the same.
  int ConvertOf(int source, DataType storage, const std::optional<ir::QuantBinding>& binding) {
    const std::string key = StrCat(source, "/", DataTypeName(storage), "/", binding ? BindingKey(*binding) : "");
    if (auto it = converts_.find(key); it != converts_.end()) return it->second;
    const ir::Value src = *g_.value(source);
    const std::string what = binding ? (binding->dynamic ? "quantize_dynamic" : "quantize") : "cast";
    ir::Node* node = g_.AddNode(
        OpKind::kConvert, g_.UniqueName(src.name + "/" + what + "_" + std::string(DataTypeName(storage))), {source}, 1);
    ir::Value& out = *g_.value(node->outputs[0]);
    out.dtype = src.dtype;
    out.shape = src.shape;
    out.storage = storage;
    out.storage_quant = binding;
    node->input_compute = {*src.storage};
    node->output_compute = {storage};
    node->input_quant.assign(1, std::nullopt);
    converts_[key] = out.id;
    return out.id;
  }

  int RoundedConstant(int source, DataType type) {
    const std::string key = StrCat(source, "/round/", DataTypeName(type));
    if (auto it = converts_.find(key); it != converts_.end()) return it->second;
    const ir::Value src = *g_.value(source);
    const ir::Node& producer = *g_.node(src.producer);
    // Stored in `type` by the model file (ir::Buffer::narrow): exact, and
    // left narrow.
    if (producer.constant->narrow() && producer.constant->encoding() == type) {
      converts_[key] = source;
      return source;
    }
    // Pinned rather than data(): a narrow buffer's float32 copy is not kept.
    const std::shared_ptr<const void> pin = producer.constant->Pin();
    const auto* x = static_cast<const float*>(pin.get());
    const int64_t count = ir::ElementCount(src.shape);
    // Already `type` values (a graph built in memory whose constants were
    // rounded, or a narrow buffer of the other 16-bit type holding them):
    // the constant as it is, no second copy (ResNet-50 force_bfloat16: 102
    // MB less at peak).
    bool exact = true;
    for (int64_t e = 0; e < count && exact; ++e) {
      const float r = type == DataType::FLOAT16 ? RoundToHalf(x[e]) : RoundToBFloat16(x[e]);
      exact = std::memcmp(&r, &x[e], sizeof(float)) == 0;
    }
    if (exact) {
      converts_[key] = source;
      return source;
    }
    auto buffer = std::make_shared<ir::Buffer>(static_cast<size_t>(count) * sizeof(float));
    auto* y = static_cast<float*>(buffer->mutable_data());
    for (int64_t e = 0; e < count; ++e) y[e] = type == DataType::FLOAT16 ? RoundToHalf(x[e]) : RoundToBFloat16(x[e]);
    const ir::AttrMap attrs = producer.attrs;
    ir::Node* node = g_.AddNode(OpKind::kConstant, g_.UniqueName(src.name + "/" + DataTypeName(type)), {}, 1);
    node->attrs = attrs;
    node->constant = std::move(buffer);
    ir::Value& out = *g_.value(node->outputs[0]);
    out.dtype = src.dtype;
    out.shape = src.shape;
    out.storage = DataType::FLOAT32;
    converts_[key] = out.id;
    return out.id;
  }

  Status InsertConverts() {
    const size_t original_nodes = g_.node_count();
    for (size_t n = 0; n < original_nodes; ++n) {
      ir::Node& node = *g_.node(static_cast<int>(n));
      if (node.op == OpKind::kConstant) continue;
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] < 0 || i >= node.input_compute.size()) continue;
        const ir::Value& v = *g_.value(node.inputs[i]);
        if (IsConstant(g_, v)) {
          // Float weights consumed in FLOAT16 / BFLOAT16: rounded once here
          // (their float32 values become exactly the narrow ones), so kernels
          // take them as FLOAT32 constants and can pack them once.
          const DataType c = node.input_compute[i];
          if ((c == DataType::FLOAT16 || c == DataType::BFLOAT16) && v.dtype == DataType::FLOAT32) {
            const int rounded = RoundedConstant(node.inputs[i], c);
            ir::Node& n2 = *g_.node(static_cast<int>(n));
            n2.inputs[i] = rounded;
            n2.input_compute[i] = DataType::FLOAT32;
          }
          continue;
        }
        const DataType compute = node.input_compute[i];
        if (IsQuantized(compute)) {
          if (!node.input_quant.at(i))
            return Internal(ir::NodeLabel(g_, node), " input ", i, " is quantized without parameters");
          const ir::QuantBinding binding = *node.input_quant[i];
          const int q = ConvertOf(node.inputs[i], IntegerStorage(binding.bits), binding);
          g_.node(static_cast<int>(n))->inputs[i] = q;
        } else if ((compute == DataType::FLOAT16 || compute == DataType::BFLOAT16) && v.storage != compute) {
          const int c = ConvertOf(node.inputs[i], compute, std::nullopt);
          g_.node(static_cast<int>(n))->inputs[i] = c;
        }
      }
    }
    return Status::OK();
  }

  std::vector<std::vector<std::pair<int, size_t>>> Consumers() const {
    std::vector<std::vector<std::pair<int, size_t>>> consumers(g_.value_count());
    for (size_t n = 0; n < g_.node_count(); ++n) {
      const ir::Node& node = *g_.node(static_cast<int>(n));
      if (node.inputs.empty() && node.outputs.empty()) continue;
      for (size_t i = 0; i < node.inputs.size(); ++i)
        if (node.inputs[i] >= 0) consumers[static_cast<size_t>(node.inputs[i])].push_back({node.id, i});
    }
    return consumers;
  }

  bool IsGraphOutput(int value) const {
    for (int o : g_.outputs())
      if (o == value) return true;
    return false;
  }

  // The single static quantize reading `value`, or null when `value` has
  // other consumers or is a network output.
  ir::Node* SoleQuantizeOf(int value, const std::vector<std::vector<std::pair<int, size_t>>>& consumers) {
    if (IsGraphOutput(value)) return nullptr;
    const auto& list = consumers[static_cast<size_t>(value)];
    if (list.size() != 1) return nullptr;
    ir::Node* c = g_.node(list[0].first);
    if (c->op != OpKind::kConvert || removed_.count(c->id)) return nullptr;
    const ir::Value& out = *g_.value(c->outputs[0]);
    if (!out.storage_quant || out.storage_quant->dynamic) return nullptr;
    return c;
  }

  // Consumers of `from` read `to` instead; the Convert producing `from` is dropped.
  void Bypass(ir::Node* convert, int to) {
    const int from = convert->outputs[0];
    for (size_t n = 0; n < g_.node_count(); ++n) {
      ir::Node& node = *g_.node(static_cast<int>(n));
      for (int& in : node.inputs)
        if (in == from) in = to;
    }
    for (int& out : g_.mutable_outputs())
      if (out == from) out = to;
    convert->inputs.clear();
    removed_.insert(convert->id);
  }

  void MoveQuantizeAboveIntegerOps() {
    bool changed = true;
    while (changed) {
      changed = false;
      const auto consumers = Consumers();
      for (size_t n = 0; n < g_.node_count() && !changed; ++n) {
        ir::Node& m = *g_.node(static_cast<int>(n));
        if (m.outputs.empty() || removed_.count(m.id) || !RunsOnIntegers(m, g_)) continue;
        // Every output (Split has several) read by one static quantize, all
        // with the same parameters.
        std::vector<ir::Node*> quantizes;
        for (int out : m.outputs) quantizes.push_back(SoleQuantizeOf(out, consumers));
        bool same = quantizes[0] != nullptr;
        for (ir::Node* q : quantizes)
          same = same && q &&
                 BindingKey(*g_.value(q->outputs[0])->storage_quant) ==
                     BindingKey(*g_.value(quantizes[0]->outputs[0])->storage_quant);
        if (!same) continue;
        ir::Node* q = quantizes[0];
        const ir::QuantBinding binding = *g_.value(q->outputs[0])->storage_quant;
        // Clip bounds must survive the float16 rounding the output would have had.
        if (m.op == OpKind::kActivation && m.attrs.Str("type") == "clip") {
          const DataType out_type = m.output_compute.empty() ? DataType::FLOAT32 : m.output_compute[0];
          if (!ExactIn(m.attrs.Float("alpha", 0.0f), out_type) || !ExactIn(m.attrs.Float("beta", 0.0f), out_type))
            continue;
        }
        // A constant pad value must survive the float16 rounding the output
        // would have had; the integer Pad writes its quantized code.
        if (m.op == OpKind::kPad && m.attrs.Str("mode") == "constant") {
          const DataType out_type = m.output_compute.empty() ? DataType::FLOAT32 : m.output_compute[0];
          if (!ExactIn(m.attrs.Float("value", 0.0f), out_type)) continue;
        }
        const size_t data_inputs = m.op == OpKind::kConcat ? m.inputs.size() : 1;
        bool inputs_real = true;
        for (size_t i = 0; i < data_inputs; ++i)
          inputs_real = inputs_real && m.inputs[i] >= 0 && g_.value(m.inputs[i])->dtype == DataType::FLOAT32 &&
                        !g_.value(m.inputs[i])->storage_quant;
        if (!inputs_real) continue;
        for (size_t i = 0; i < data_inputs; ++i) {
          const int qi = ConvertOf(m.inputs[i], IntegerStorage(binding.bits), binding);
          g_.node(static_cast<int>(n))->inputs[i] = qi;
        }
        ir::Node& moved = *g_.node(static_cast<int>(n));
        for (size_t o = 0; o < moved.outputs.size(); ++o) {
          ir::Value& out = *g_.value(moved.outputs[o]);
          out.storage = IntegerStorage(binding.bits);
          out.storage_quant = binding;
          Bypass(quantizes[o], moved.outputs[o]);
        }
        ++summary_.moved_through;
        changed = true;
      }
    }
  }

  // A quantized operator (its accumulator requantized) or an integer-chain
  // node (passes/integer_chain.h) can write its output as integers.
  static bool WritesIntegers(const ir::Node& p) {
    const ops::OpSchema& schema = ops::GetSchema(p.op);
    if (schema.integer_reference) return !p.input_compute.empty() && IsQuantized(p.input_compute[0]);
    if (!schema.quant.chain_reference) return false;
    for (DataType c : p.input_compute)
      if (c == DataType::QINT8) return true;
    return false;
  }

  void FoldIntoProducers() {
    const auto consumers = Consumers();
    for (size_t n = 0; n < g_.node_count(); ++n) {
      ir::Node& p = *g_.node(static_cast<int>(n));
      if (p.outputs.size() != 1 || removed_.count(p.id)) continue;
      if (!WritesIntegers(p)) continue;
      ir::Node* q = SoleQuantizeOf(p.outputs[0], consumers);
      if (!q) continue;
      ir::Value& out = *g_.value(p.outputs[0]);
      const ir::QuantBinding binding = *g_.value(q->outputs[0])->storage_quant;
      if (!ops::GetSchema(p.op).integer_reference && binding.bits != 8) continue;  // chain nodes write int8
      out.storage = IntegerStorage(binding.bits);
      out.storage_quant = binding;
      Bypass(q, p.outputs[0]);
      ++summary_.folded_into_producer;
    }
  }

  ir::Graph& g_;
  std::map<std::string, int> converts_;
  std::set<int> removed_;
  PlacementSummary summary_;
};

}  // namespace

bool RunsOnIntegers(const ir::Node& node, const ir::Graph&) {
  switch (node.op) {
    case OpKind::kMaxPool2D:
    case OpKind::kReshape:
    case OpKind::kFlatten:
    case OpKind::kSqueeze:
    case OpKind::kUnsqueeze:
    case OpKind::kPermute:
    case OpKind::kSlice:
    case OpKind::kPad:
    case OpKind::kConcat:
    case OpKind::kSplit:
    case OpKind::kGather:
      return true;
    case OpKind::kActivation: {
      const std::string type = node.attrs.Str("type");
      return type == "relu" || type == "relu6" || type == "clip";
    }
    case OpKind::kResize:
      return node.attrs.Str("mode") == "nearest";
    default:
      return false;
  }
}

Status PlaceQuantization(ir::Graph* graph, PlacementSummary* summary) {
  Placer placer(graph);
  return placer.Run(summary);
}

}  // namespace mixq::passes
