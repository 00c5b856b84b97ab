// The precision report and the plan dump, read from the lowered plan (what
// runs), not from build-time decisions.
#include <nlohmann/json.hpp>
#include <sstream>

#include "passes/precision_report.h"
#include "runtime/engine.h"
#include "util/status_util.h"

namespace mixq::runtime {

namespace {

using nlohmann::json;

std::string ShapesString(const std::vector<ir::Shape>& shapes) {
  std::string s;
  for (const auto& shape : shapes) {
    if (!s.empty()) s += ", ";
    s += ir::ShapeString(shape);
  }
  return s;
}

const char* ConvertKind(const ops::ValueInfo& in, const ops::ValueInfo& out) {
  const bool in_int = ops::IsIntegerStorage(in), out_int = ops::IsIntegerStorage(out);
  if (in_int && out_int) return "Requantize";
  if (out_int) return out.quant->dynamic ? "QuantizeDynamic" : "Quantize";
  if (in_int) return "Dequantize";
  return "Cast";
}

std::string StorageName(const ops::ValueInfo& v) {
  return DataTypeName(v.dtype);
}

json BufferJson(const ExecutionPlan& plan, int b) {
  if (b < 0) return json{{"buffer", nullptr}};
  const PlanBuffer& buf = plan.buffers[static_cast<size_t>(b)];
  json j{{"buffer", buf.name},
         {"storage", DataTypeName(buf.info.dtype)},
         {"shape", ir::ShapeString(buf.info.shape)},
         {"bytes", buf.bytes}};
  if (buf.info.const_data) j["constant"] = true;
  if (buf.info.layout != ops::MemoryLayout::kPlain)  // runtime/layout_pass.h
    j["layout"] = buf.info.layout == ops::MemoryLayout::kBlocked16  ? "nChw16c"
                  : buf.info.layout == ops::MemoryLayout::kBlocked8 ? "nChw8c"
                                                                    : "NHWC";
  if (buf.info.quant && !buf.info.quant->dynamic && !buf.info.quant->scales.empty()) {
    j["scale"] = buf.info.quant->scales[0];
    j["zero_point"] = buf.info.quant->zero_points.empty() ? 0 : buf.info.quant->zero_points[0];
  }
  if (buf.info.quant && buf.info.quant->dynamic) j["dynamic"] = true;
  return j;
}

}  // namespace

std::string StepOpName(const ExecutionPlan& plan, const PlanStep& step) {
  if (step.op == OpKind::kConvert && !step.inputs.empty() && !step.outputs.empty() && step.inputs[0] >= 0 &&
      step.outputs[0] >= 0)
    return ConvertKind(plan.buffers[static_cast<size_t>(step.inputs[0])].info,
                       plan.buffers[static_cast<size_t>(step.outputs[0])].info);
  return ops::GetSchema(step.op).name;
}

std::string ContextImpl::GetExecutionPlan(bool as_json) const {
  if (!prepared_) return "";
  const ir::Graph& g = graph();
  json steps = json::array();
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const PlanStep& step = plan_.steps[s];
    json ins = json::array(), outs = json::array(), fused = json::array(), post = json::array();
    for (int b : step.inputs) ins.push_back(BufferJson(plan_, b));
    for (int b : step.outputs) outs.push_back(BufferJson(plan_, b));
    for (int f : step.fused) fused.push_back(g.node(f)->name);
    for (const auto& op : step.post_ops) post.push_back(op.kind == ops::PostOp::Kind::kAdd ? "add" : op.activation);
    const std::string op = StepOpName(plan_, step);
    steps.push_back({{"step", s},
                     {"node", step.label},
                     {"op", op},
                     {"kernel", step.def ? step.def->name : "?"},
                     {"inputs", ins},
                     {"outputs", outs},
                     {"fused", fused},
                     {"post_ops", post}});
  }
  int64_t private_weights = 0;
  for (const PlanStep& step : plan_.steps) private_weights += step.kernel ? step.kernel->PrivateWeightBytes() : 0;
  json doc{{"input_shapes", ShapesString(prepared_shapes_)},
           {"steps", steps},
           {"arena_bytes", plan_.arena_bytes},
           {"engine_weight_bytes", state_->weights.bytes()},
           {"context_weight_bytes", private_weights},
           {"isa", kernels::IsaName(kernels::BestIsa())},
           {"cpu_features", kernels::CpuFeatureString()}};
  if (as_json) return doc.dump(-1, ' ', false, json::error_handler_t::replace);

  std::ostringstream out;
  out << "execution plan for input shapes " << doc["input_shapes"].get<std::string>() << ": " << plan_.steps.size()
      << " steps, activation arena " << plan_.arena_bytes << " bytes, packed weights " << state_->weights.bytes()
      << " bytes (engine, shared by contexts)\n";
  auto tensors = [](const json& list) {
    std::string cell;
    for (const auto& t : list) {
      if (t["buffer"].is_null()) continue;
      {
        if (!cell.empty()) cell += " ";
        cell += t["storage"].get<std::string>() + t["shape"].get<std::string>();
      }
      if (t.contains("constant")) cell += "(c)";
      if (t.contains("layout")) {
        cell += '/';
        cell += t["layout"].get<std::string>();
      }
    }
    return cell;
  };
  for (const auto& st : steps) {
    out << "  " << st["step"].get<size_t>() << "  " << st["op"].get<std::string>() << " '"
        << st["node"].get<std::string>() << "'  [" << st["kernel"].get<std::string>() << "]  " << tensors(st["inputs"])
        << " -> " << tensors(st["outputs"]);
    if (!st["fused"].empty()) {
      std::string f;
      for (const auto& name : st["fused"]) {
        if (!f.empty()) f += ", ";
        f += name.get<std::string>();
      }
      out << "  fused: " << f;
    }
    out << "\n";
  }
  return out.str();
}

std::string ContextImpl::GetPrecisionReportJson() const {
  if (!prepared_) return "";
  const ir::Graph& g = graph();
  json build = json::parse(state_->model->report_json, nullptr, false);
  std::map<std::string, json> rows;
  std::string mode = "?";
  if (build.is_object()) {
    mode = build.value("precision_mode", "?");
    if (build.contains("nodes") && build["nodes"].is_array())
      for (const auto& n : build["nodes"])
        if (n.is_object()) rows[n.value("node", "")] = n;
  }
  auto storage_of = [&](int value) {
    const int b = value >= 0 ? plan_.value_buffer[static_cast<size_t>(value)] : -1;
    return b >= 0 ? StorageName(plan_.buffers[static_cast<size_t>(b)].info)
                  : std::string(DataTypeName(g.value(value)->storage.value_or(g.value(value)->dtype)));
  };
  json nodes = json::array();
  auto node_row = [&](const ir::Node& node, const std::string& kernel, const std::string& fused_into) {
    json row;
    if (auto it = rows.find(node.name); it != rows.end() && node.op != OpKind::kConvert) {
      row = it->second;
    } else {
      row = {{"node", node.name}, {"op", ops::GetSchema(node.op).name}, {"reason", ""}, {"fused", json::array()}};
      json ins = json::array(), outs = json::array();
      for (int in : node.inputs)
        if (in >= 0)
          ins.push_back({{"tensor", g.value(in)->name},
                         {"requested", storage_of(in)},
                         {"requested_by", "plan"},
                         {"actual", storage_of(in)}});
      for (int o : node.outputs)
        outs.push_back({{"tensor", g.value(o)->name},
                        {"requested", storage_of(o)},
                        {"requested_by", "plan"},
                        {"actual", storage_of(o)}});
      row["inputs"] = ins;
      row["outputs"] = outs;
      if (node.op == OpKind::kConvert) {
        const int b_in = plan_.value_buffer[static_cast<size_t>(node.inputs[0])];
        const int b_out = plan_.value_buffer[static_cast<size_t>(node.outputs[0])];
        if (b_in >= 0 && b_out >= 0)
          row["op"] = ConvertKind(plan_.buffers[static_cast<size_t>(b_in)].info,
                                  plan_.buffers[static_cast<size_t>(b_out)].info);
      }
    }
    // Storage as planned: each output of the node, each input it reads.
    for (size_t o = 0; o < node.outputs.size() && o < row["outputs"].size(); ++o)
      row["outputs"][o]["storage"] = storage_of(node.outputs[o]);
    std::string reason = row.value("reason", "");
    auto note = [&reason](const std::string& text) {
      {
        if (!reason.empty()) reason += "; ";
        reason += text;
      }
    };
    const ir::Value& out0 = *g.value(node.outputs[0]);
    if (out0.storage_quant && node.op != OpKind::kConvert) {
      if (ops::GetSchema(node.op).integer_reference)
        note(StrCat("writes ", DataTypeName(*out0.storage), " directly (requantized in the kernel)"));
      else
        note(StrCat("runs on ", DataTypeName(*out0.storage), " integers"));
    }
    row["reason"] = reason;
    row["kernel"] = kernel;
    row["fused_into"] = fused_into;
    nodes.push_back(row);
  };
  for (const PlanStep& step : plan_.steps) {
    if (step.node < 0) {
      const ops::ValueInfo& in = plan_.buffers[static_cast<size_t>(step.inputs[0])].info;
      const ops::ValueInfo& out = plan_.buffers[static_cast<size_t>(step.outputs[0])].info;
      nodes.push_back({{"node", step.label},
                       {"op", ConvertKind(in, out)},
                       {"inputs", json::array({{{"tensor", plan_.buffers[static_cast<size_t>(step.inputs[0])].name},
                                                {"requested", StorageName(in)},
                                                {"requested_by", "plan"},
                                                {"actual", StorageName(in)}}})},
                       {"outputs", json::array({{{"tensor", plan_.buffers[static_cast<size_t>(step.outputs[0])].name},
                                                 {"requested", StorageName(out)},
                                                 {"requested_by", "plan"},
                                                 {"actual", StorageName(out)},
                                                 {"storage", StorageName(out)}}})},
                       {"kernel", step.def ? step.def->name : "?"},
                       {"reason", "the kernel of the next step takes FLOAT32"},
                       {"fused", json::array()},
                       {"fused_into", ""}});
      continue;
    }
    const ir::Node& node = *g.node(step.node);
    node_row(node, step.def ? step.def->name : "?", "");
    for (int f : step.fused) {
      nodes.back()["fused"].push_back(g.node(f)->name);
      node_row(*g.node(f), step.def ? step.def->name : "?", node.name);
    }
  }
  json doc{
      {"precision_mode", mode}, {"stage", "plan"}, {"input_shapes", ShapesString(prepared_shapes_)}, {"nodes", nodes}};
  if (build.is_object() && build.contains("int8_weight_range") && build["int8_weight_range"].is_string())
    doc["int8_weight_range"] = build["int8_weight_range"];
  if (build.is_object() && build.contains("transforms") && build["transforms"].is_array())
    doc["transforms"] = build["transforms"];
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ContextImpl::GetPrecisionReport() const {
  if (!prepared_) return "";
  return passes::FormatPrecisionReport(GetPrecisionReportJson());
}

}  // namespace mixq::runtime
