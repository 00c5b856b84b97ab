#include "passes/precision_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/status_util.h"

namespace mixq::passes {

using nlohmann::json;

namespace {
json TensorsToJson(const std::vector<TensorPrecision>& tensors) {
  json out = json::array();
  for (const auto& t : tensors)
    out.push_back({{"tensor", t.tensor},
                   {"requested", DataTypeName(t.requested)},
                   {"requested_by", t.requested_by},
                   {"actual", DataTypeName(t.actual)}});
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!tensors[i].storage.empty()) out[i]["storage"] = tensors[i].storage;
  return out;
}

// "QINT8" or "FLOAT32->QINT8"? Only the actual precision, with a '*' when it
// differs from the request, keeps rows readable.
std::string TensorsCell(const json& tensors) {
  std::string cell;
  for (const auto& t : tensors) {
    if (!cell.empty()) cell += ",";
    cell += t.value("actual", "?");
    if (t.value("actual", "") != t.value("requested", "")) cell += "*";
  }
  return cell.empty() ? "-" : cell;
}

std::string StorageCell(const json& tensors) {
  std::string cell;
  for (const auto& t : tensors) {
    if (!cell.empty()) cell += ",";
    cell += t.value("storage", std::string("?"));
  }
  return cell.empty() ? "-" : cell;
}

// The reason, and what was folded into the node.
std::string Note(const json& node) {
  std::string note = node.value("reason", "");
  if (node.contains("fused") && node["fused"].is_array())
    for (const auto& f : node["fused"])
      if (f.is_string()) note += (note.empty() ? "folded: " : "; folded: ") + f.get<std::string>();
  return note;
}
}  // namespace

std::string PrecisionReportToJson(const PrecisionReport& report) {
  json nodes = json::array();
  for (const auto& n : report.nodes)
    nodes.push_back({{"node", n.node},
                     {"op", n.op},
                     {"inputs", TensorsToJson(n.inputs)},
                     {"outputs", TensorsToJson(n.outputs)},
                     {"kernel", n.kernel},
                     {"reason", n.reason},
                     {"fused", n.fused},
                     {"fused_into", n.fused_into}});
  // Names come from users and may not be valid UTF-8: replace, never throw.
  json doc{{"precision_mode", report.precision_mode}, {"stage", report.stage}, {"nodes", nodes}};
  if (!report.shapes.empty()) doc["input_shapes"] = report.shapes;
  if (report.int8_weight_range != "full") doc["int8_weight_range"] = report.int8_weight_range;
  if (!report.transforms.empty()) doc["transforms"] = report.transforms;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FormatPrecisionReport(const std::string& text, Status* status) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array()) {
    if (status) *status = DataLoss("the model's precision report is not valid JSON");
    return "";
  }
  const bool plan = doc.value("stage", "build") == "plan";
  std::vector<std::vector<std::string>> rows;
  if (plan)
    rows.push_back({"node", "op", "inputs", "outputs", "stored as", "kernel", "note"});
  else
    rows.push_back({"node", "op", "inputs", "outputs", "kernel", "note"});
  for (const auto& n : doc["nodes"]) {
    if (!n.is_object()) continue;
    std::vector<std::string> row = {n.value("node", "?"), n.value("op", "?"),
                                    TensorsCell(n.value("inputs", json::array())),
                                    TensorsCell(n.value("outputs", json::array()))};
    if (plan) row.push_back(StorageCell(n.value("outputs", json::array())));
    const std::string fused_into = n.value("fused_into", "");
    row.push_back(fused_into.empty() ? n.value("kernel", "?") : "fused into " + fused_into);
    row.push_back(Note(n));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::ostringstream out;
  out << "precision mode: " << doc.value("precision_mode", "?") << "  (* = differs from the request)\n";
  if (doc.contains("int8_weight_range") && doc["int8_weight_range"] == "7bit")
    out << "int8 weights: 7-bit codes [-63, 63] (int8_weight_range 7bit): exact with vpmaddubsw on AVX2, kernel "
           "avx2-int8-u8s8\n";
  if (plan)
    out << "execution plan for input shapes " << doc.value("input_shapes", "?") << " (kernels as they run)\n";
  else
    out << "build-time report, before input shapes are known: kernels are chosen per shape when a context "
           "prepares (IContext::GetPrecisionReport)\n";
  if (doc.contains("transforms") && doc["transforms"].is_array())
    for (const auto& t : doc["transforms"])
      if (t.is_string()) out << "transform: " << t.get<std::string>() << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < rows[i].size(); ++c) {
      out << rows[i][c];
      if (c + 1 < rows[i].size()) out << std::string(width[c] - rows[i][c].size() + 2, ' ');
    }
    out << "\n";
    if (i == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  if (status) *status = Status::OK();
  return out.str();
}

}  // namespace mixq::passes
