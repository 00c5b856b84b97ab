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
                     {"fused", n.fused}});
  // Names come from users and may not be valid UTF-8: replace, never throw.
  return json{{"precision_mode", report.precision_mode}, {"nodes", nodes}}.dump(-1, ' ', false,
                                                                              json::error_handler_t::replace);
}

std::string FormatPrecisionReport(const std::string& text, Status* status) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array()) {
    if (status) *status = DataLoss("the model's precision report is not valid JSON");
    return "";
  }
  std::vector<std::vector<std::string>> rows = {{"node", "op", "inputs", "outputs", "kernel", "note"}};
  for (const auto& n : doc["nodes"]) {
    if (!n.is_object()) continue;
    rows.push_back({n.value("node", "?"), n.value("op", "?"),
                    TensorsCell(n.value("inputs", json::array())), TensorsCell(n.value("outputs", json::array())),
                    n.value("kernel", "?"), Note(n)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::ostringstream out;
  out << "precision mode: " << doc.value("precision_mode", "?") << "  (* = differs from the request)\n";
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
