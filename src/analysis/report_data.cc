#include "analysis/report_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/sample_runner.h"
#include "calibration/calib_state.h"
#include "passes/build_pipeline.h"
#include "util/status_util.h"

namespace mixq::analysis {

namespace {

using nlohmann::json;

bool IsConvert(const std::string& op) {
  return op == "Quantize" || op == "QuantizeDynamic" || op == "Dequantize" || op == "Requantize" || op == "Cast";
}

// Does a step writing `storage` feed a reader that consumes in `precision`?
bool Feeds(const std::string& storage, const std::string& precision) {
  if (precision == "QINT8") return storage == "INT8" || storage == "UINT8";
  if (precision == "QINT16") return storage == "INT16";
  return storage == precision;
}

std::string String(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double Number(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

// The precision class of one row (html_report.h, kPrecisionClasses): what its
// inputs are consumed in; for a node that takes float inputs but runs on
// integers (a ReLU on its producer's INT8 output), the storage it writes.
std::string PrecisionClass(const std::string& op, const std::vector<std::string>& consumed,
                           const std::vector<std::string>& stored) {
  if (IsConvert(op)) return "convert";
  auto any = [](const std::vector<std::string>& types, std::initializer_list<const char*> wanted) {
    for (const auto& t : types)
      for (const char* w : wanted)
        if (t == w) return true;
    return false;
  };
  if (any(consumed, {"QINT8"})) return "qint8";
  if (any(consumed, {"QINT16"})) return "qint16";
  if (any(consumed, {"FLOAT16", "BFLOAT16"})) return "float16";
  if (any(stored, {"INT8", "UINT8"})) return "qint8";
  if (any(stored, {"INT16"})) return "qint16";
  if (any(stored, {"FLOAT16", "BFLOAT16"})) return "float16";
  return "float32";
}

}  // namespace

Status ParsePlanGraph(const std::string& precision_report_json, const std::vector<std::string>& input_names,
                      std::vector<PlanNode>* plan) {
  plan->clear();
  const json doc = json::parse(precision_report_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array())
    return Internal("report: the precision report is not a JSON object with a \"nodes\" array");
  for (const std::string& name : input_names)
    plan->push_back(PlanNode{name, "input", "input", "network input", {}, {name}, {}});
  // Per box: the precision each input is consumed in, the storage of each output.
  std::vector<std::vector<std::string>> consumed_as(input_names.size()), stored_as(input_names.size());
  for (const json& row : doc["nodes"]) {
    if (!row.is_object()) continue;
    PlanNode node;
    node.name = String(row, "node");
    node.op = String(row, "op");
    std::vector<std::string> consumed, stored;
    std::string ins, outs;
    if (row.contains("inputs") && row["inputs"].is_array())
      for (const json& in : row["inputs"]) {
        node.inputs.push_back(String(in, "tensor"));
        consumed.push_back(String(in, "actual"));
        ins += (ins.empty() ? "" : ", ") + node.inputs.back() + " " + consumed.back();
      }
    if (row.contains("outputs") && row["outputs"].is_array())
      for (const json& out : row["outputs"]) {
        node.outputs.push_back(String(out, "tensor"));
        stored.push_back(String(out, "storage"));
        outs += (outs.empty() ? "" : ", ") + node.outputs.back() + " stored " + stored.back();
      }
    node.precision = PrecisionClass(node.op, consumed, stored);
    node.detail = "kernel " + String(row, "kernel") + "\nin: " + ins + "\nout: " + outs;
    if (!String(row, "fused_into").empty()) node.detail += "\nfused into " + String(row, "fused_into");
    if (!String(row, "reason").empty()) node.detail += "\n" + String(row, "reason");
    plan->push_back(std::move(node));
    consumed_as.push_back(std::move(consumed));
    stored_as.push_back(std::move(stored));
  }
  // Edges: from the writer of each tensor read, or from the step that converts
  // it for this reader.
  std::map<std::string, int> writer;
  std::set<std::string> read;
  for (size_t i = 0; i < plan->size(); ++i) {
    for (const auto& t : (*plan)[i].outputs) writer.emplace(t, static_cast<int>(i));
    for (const auto& t : (*plan)[i].inputs) read.insert(t);
  }
  std::map<std::string, std::vector<int>> plan_steps_reading;  // tensor -> convert steps no row reads the output of
  for (size_t i = 0; i < plan->size(); ++i) {
    const PlanNode& n = (*plan)[i];
    if (n.precision == "convert" && n.inputs.size() == 1 && n.outputs.size() == 1 && !read.count(n.outputs[0]))
      plan_steps_reading[n.inputs[0]].push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < plan->size(); ++i) {
    PlanNode& n = (*plan)[i];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      int from = -1;
      if (auto steps = plan_steps_reading.find(n.inputs[k]); steps != plan_steps_reading.end())
        for (int s : steps->second) {
          const auto& stored = stored_as[static_cast<size_t>(s)];
          if (s < static_cast<int>(i) && k < consumed_as[i].size() && !stored.empty() &&
              Feeds(stored[0], consumed_as[i][k]))
            from = s;
        }
      if (from < 0)
        if (auto w = writer.find(n.inputs[k]); w != writer.end() && w->second != static_cast<int>(i)) from = w->second;
      if (from >= 0 && std::find(n.from.begin(), n.from.end(), from) == n.from.end()) n.from.push_back(from);
    }
  }
  return Status::OK();
}

Status ParseProfile(const std::string& profile_json, ReportData* data) {
  const json doc = json::parse(profile_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("steps") || !doc["steps"].is_array() || !doc.contains("ops") ||
      !doc["ops"].is_array())
    return Internal("report: the profile is not a JSON object with \"steps\" and \"ops\" arrays");
  data->steps.clear();
  data->ops.clear();
  for (const json& step : doc["steps"]) {
    if (!step.is_object()) continue;
    StepTime t{String(step, "node"), String(step, "op"),   String(step, "kernel"), "",
               Number(step, "ms"),   Number(step, "share")};
    if (step.contains("fused") && step["fused"].is_array())
      for (const json& f : step["fused"])
        if (f.is_string()) t.fused += (t.fused.empty() ? "" : ", ") + f.get<std::string>();
    data->steps.push_back(std::move(t));
  }
  for (const json& op : doc["ops"])
    if (op.is_object())
      data->ops.push_back(
          OpTime{String(op, "op"), static_cast<int>(Number(op, "steps")), Number(op, "ms"), Number(op, "share")});
  data->total_ms = Number(doc, "total_ms");
  data->profile_runs = static_cast<int64_t>(Number(doc, "runs"));
  return Status::OK();
}

Status ProfilePlan(const api::NetworkImpl& network, const passes::BuildOptions& options, const std::string& config_json,
                   const std::vector<CalibDataInterface*>& data, int runs, int num_threads, ReportData* report) {
  passes::CalibratedRanges ranges;
  MIXQ_RETURN_IF_ERROR(quant::CalibratedRangesFor(network.graph(), options, network.calibration(), &ranges));
  auto model = std::make_shared<format::ModelData>();
  MIXQ_RETURN_IF_ERROR(
      WithContext(passes::BuildModelData("report", network.graph(), options, ranges, config_json, model.get(),
                                         network.calibration() ? &network.calibration()->channels : nullptr),
                  "report build"));
  Runner runner;
  MIXQ_RETURN_IF_ERROR(runner.Init(model, num_threads, /*profile=*/true));
  SampleReader reader(data, 1);
  MIXQ_RETURN_IF_ERROR(reader.Reset());
  bool got = false;
  MIXQ_RETURN_IF_ERROR(reader.Next(&got));
  if (!got) return InvalidArgument("report: the sample data is empty: nothing to profile");
  double median_ms = 0;
  MIXQ_RETURN_IF_ERROR(WithContext(runner.Time(reader, std::max(runs, 1), &median_ms), "report: profiled run"));
  MIXQ_RETURN_IF_ERROR(
      ParsePlanGraph(runner.context().GetPrecisionReportJson(), runner.engine().GetInputNames(), &report->plan));
  MIXQ_RETURN_IF_ERROR(ParseProfile(runner.context().GetProfile(true), report));
  report->profile_note = StrCat("sample 0, ", num_threads > 0 ? StrCat(num_threads, " thread(s)") : "default threads",
                                ", the warm-up run left out");
  return Status::OK();
}

Status PrepareReportDir(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("report: the report directory is empty");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return InvalidArgument("report: cannot create the directory '", dir, "': ", error.message());
  if (!std::filesystem::is_directory(dir, error))
    return InvalidArgument("report: '", dir, "' exists and is not a directory");
  // Writable? A probe file, removed at once (index.html may exist from a
  // previous report and is left as it is until the new one is written).
  const std::filesystem::path probe = std::filesystem::path(dir) / ".mixq-report-probe";
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument("report: cannot write in the directory '", dir, "'");
  }
  std::filesystem::remove(probe, error);
  return Status::OK();
}

Status WriteReport(const std::string& dir, const ReportData& data) {
  MIXQ_RETURN_IF_ERROR(PrepareReportDir(dir));
  const std::string path = (std::filesystem::path(dir) / "index.html").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("report: cannot open '", path, "' for writing");
  out << RenderHtmlReport(data);
  out.close();
  if (!out) return DataLoss("report: error writing '", path, "'");
  return Status::OK();
}

}  // namespace mixq::analysis
