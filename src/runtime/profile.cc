// ContextOptions::profile: where an inference spends its time, per step of
// the plan and per operator type, from the wall time Enqueue measured.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/engine.h"

namespace mixq::runtime {

namespace {

using nlohmann::json;

std::string StorageTypes(const ExecutionPlan& plan, const std::vector<int>& buffers) {
  std::string s;
  for (int b : buffers) {
    if (b < 0) continue;
    const PlanBuffer& buf = plan.buffers[static_cast<size_t>(b)];
    if (buf.info.const_data) continue;  // weights: the kernel's business
    if (!s.empty()) s += ",";
    s += DataTypeName(buf.info.dtype);
  }
  return s;
}

std::string Ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", ms);
  return text;
}

}  // namespace

std::string ContextImpl::GetProfile(bool as_json) const {
  if (!prepared_ || !options_.profile || profiled_runs_ == 0) return "";
  // The first run after a prepare pays one-time costs (oneDNN's JIT, first
  // touches of the arena): left out once there are others.
  const bool skip_first = profiled_runs_ > 1;
  const int64_t counted = skip_first ? profiled_runs_ - 1 : 1;
  const double runs = static_cast<double>(counted);
  std::vector<int64_t> ns = step_ns_;
  if (skip_first)
    for (size_t s = 0; s < ns.size(); ++s) ns[s] -= first_ns_[s];
  double total_ms = 0;
  for (int64_t t : ns) total_ms += static_cast<double>(t) / 1e6 / runs;
  json steps = json::array();
  std::map<std::string, std::pair<double, int>> per_op;  // op -> (ms, steps)
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const PlanStep& step = plan_.steps[s];
    const double ms = static_cast<double>(ns[s]) / 1e6 / runs;
    const std::string op = StepOpName(plan_, step);
    json fused = json::array();
    for (int f : step.fused) fused.push_back(graph().node(f)->name);
    steps.push_back({{"step", s},
                     {"node", step.label},
                     {"op", op},
                     {"kernel", step.def ? step.def->name : "?"},
                     {"in", StorageTypes(plan_, step.inputs)},
                     {"out", StorageTypes(plan_, step.outputs)},
                     {"fused", fused},
                     {"ms", ms},
                     {"min_ms", s < min_ns_.size() ? static_cast<double>(min_ns_[s]) / 1e6 : ms},
                     {"share", total_ms > 0 ? ms / total_ms : 0.0}});
    per_op[op].first += ms;
    per_op[op].second += 1;
  }
  json ops = json::array();
  for (const auto& [op, t] : per_op)
    ops.push_back(
        {{"op", op}, {"steps", t.second}, {"ms", t.first}, {"share", total_ms > 0 ? t.first / total_ms : 0.0}});
  auto by_ms = [](const json& a, const json& b) { return a["ms"].get<double>() > b["ms"].get<double>(); };
  std::sort(ops.begin(), ops.end(), by_ms);
  json doc{
      {"runs", counted}, {"first_run_excluded", skip_first}, {"total_ms", total_ms}, {"steps", steps}, {"ops", ops}};
  if (as_json) return doc.dump(-1, ' ', false, json::error_handler_t::replace);

  std::ostringstream out;
  out << "profile over " << counted << " run(s)"
      << (skip_first ? " (the first run, with one-time costs, left out)" : "") << ": " << Ms(total_ms)
      << " ms per run in " << plan_.steps.size() << " steps\n  per operator type:\n";
  for (const auto& o : ops)
    out << "    " << o["op"].get<std::string>() << "  " << o["steps"].get<int>() << " step(s)  "
        << Ms(o["ms"].get<double>()) << " ms  " << Ms(100 * o["share"].get<double>()) << " %\n";
  std::vector<json> sorted(steps.begin(), steps.end());
  std::sort(sorted.begin(), sorted.end(), by_ms);
  out << "  heaviest steps:\n";
  const size_t shown = std::min<size_t>(sorted.size(), 25);
  for (size_t i = 0; i < shown; ++i) {
    const json& st = sorted[i];
    out << "    " << Ms(st["ms"].get<double>()) << " ms  " << Ms(100 * st["share"].get<double>()) << " %  step "
        << st["step"].get<size_t>() << " " << st["op"].get<std::string>() << " '" << st["node"].get<std::string>()
        << "' [" << st["kernel"].get<std::string>() << "] " << st["in"].get<std::string>() << " -> "
        << st["out"].get<std::string>() << "\n";
  }
  if (sorted.size() > shown) out << "    (" << sorted.size() - shown << " lighter steps not shown; --json has all)\n";
  return out.str();
}

}  // namespace mixq::runtime
