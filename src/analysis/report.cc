// AccuracyAnalysis as JSON (for tools) and as tables (for people).
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "mixq/analysis.h"

namespace mixq {

namespace {

using nlohmann::json;

// JSON has no infinity: an error-free tensor's SQNR (+inf) is written as null.
json Number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json ErrorJson(const TensorError& e) {
  return json{{"tensor", e.tensor},
              {"node", e.node},
              {"op_type", e.op_type},
              {"sqnr_db", Number(e.sqnr_db)},
              {"cosine", Number(e.cosine)},
              {"max_abs", Number(e.max_abs)},
              {"relative_l2", Number(e.relative_l2)},
              {"elements", e.elements},
              {"nonfinite", e.nonfinite}};
}

std::string Format(const char* fmt, double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, fmt, v);
  return buffer;
}

std::string Row(const std::string& a, const std::string& b, const TensorError& e) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, "%-28s %-16s %10s %12s %12s %12s\n", a.c_str(), b.c_str(),
                Format("%.2f", e.sqnr_db).c_str(), Format("%.6f", e.cosine).c_str(), Format("%.4g", e.max_abs).c_str(),
                Format("%.4g", e.relative_l2).c_str());
  return buffer;
}

}  // namespace

std::string AccuracyAnalysis::ToJson() const {
  json accumulated_json = json::array(), outputs_json = json::array(), ranking_json = json::array();
  for (const auto& e : accumulated) accumulated_json.push_back(ErrorJson(e));
  for (const auto& e : outputs) outputs_json.push_back(ErrorJson(e));
  for (const auto& r : ranking) {
    json isolated = json::array();
    for (const auto& e : r.isolated) isolated.push_back(ErrorJson(e));
    ranking_json.push_back(json{{"rank", r.rank},
                                {"node", r.node},
                                {"op_type", r.op_type},
                                {"precision", r.precision},
                                {"isolated", isolated},
                                {"network_output", ErrorJson(r.network_output)},
                                {"worst_output_cosine", Number(r.worst_output_cosine)}});
  }
  return json{{"format", "mixq-accuracy-analysis"},
              {"version", 1},
              {"precision_mode", precision_mode},
              {"samples", samples},
              {"outputs", outputs_json},
              {"ranking", ranking_json},
              {"accumulated", accumulated_json}}
      .dump(1, ' ', false, json::error_handler_t::replace);
}

std::string AccuracyAnalysis::ToString() const {
  std::string out = "accuracy analysis: " + precision_mode + " against float32, " + std::to_string(samples) +
                    " samples (SQNR in dB; higher is better)\n";
  if (!ranking.empty()) {
    out += "\noperators, most harmful first (isolated: only that operator quantized)\n";
    char head[256];
    std::snprintf(head, sizeof head, "%-4s %-28s %-16s %10s %12s %10s\n", "rank", "node", "op", "out SQNR",
                  "out cosine", "own SQNR");
    out += head;
    for (const auto& r : ranking) {
      char line[512];
      std::snprintf(line, sizeof line, "%-4d %-28s %-16s %10s %12s %10s\n", r.rank, r.node.c_str(), r.op_type.c_str(),
                    Format("%.2f", r.network_output.sqnr_db).c_str(), Format("%.6f", r.network_output.cosine).c_str(),
                    r.isolated.empty() ? "-" : Format("%.2f", r.isolated[0].sqnr_db).c_str());
      out += line;
    }
  }
  out += "\ntensors (accumulated: everything upstream quantized as planned)\n";
  char head[256];
  std::snprintf(head, sizeof head, "%-28s %-16s %10s %12s %12s %12s\n", "tensor", "op", "SQNR", "cosine", "max_abs",
                "rel_l2");
  out += head;
  for (const auto& e : accumulated) out += Row(e.tensor, e.op_type, e);
  return out;
}

}  // namespace mixq
