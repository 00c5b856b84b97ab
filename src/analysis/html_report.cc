// RenderHtmlReport: the page, section by section. Sizes are in CSS pixels;
// every chart is an inline <svg> with a viewBox, so it scales with the page.
#include "analysis/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/graph_layout.h"
#include "analysis/svg.h"
#include "util/status_util.h"

namespace mixq::analysis {

namespace {

using svg::Attr;
using svg::Figure;
using svg::HtmlEscape;
using svg::Num;

constexpr const char* kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; } .empty { color: #777; font-style: italic; }
svg { display: block; max-width: 100%; height: auto; } svg text { font: 11px system-ui, sans-serif; fill: #1b1b1b; }
svg text.small { font-size: 9px; fill: #444; } svg text.head { font-weight: bold; }
.axis { stroke: #999; stroke-width: 1; } .grid { stroke: #e6e6e6; stroke-width: 1; }
.bar.acc { fill: #4c78a8; } .bar.iso { fill: #f58518; } .bar.op { fill: #72b7b2; } .bar.step { fill: #b279a2; }
.bar.inf { opacity: 0.45; }
.edge { stroke: #8a8a8a; stroke-width: 1; fill: none; }
.node rect { stroke: #555; stroke-width: 1; }
.p-qint8 { fill: #f4a6a6; } .p-qint16 { fill: #f9cf8f; } .p-float16 { fill: #a8d5a2; } .p-float32 { fill: #a9c4e4; }
.p-convert { fill: #dddddd; } .p-input { fill: #ffffff; }
.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #555; vertical-align: middle; margin: 0 4px 0 12px; }
.swatch.p-qint8 { background: #f4a6a6; } .swatch.p-qint16 { background: #f9cf8f; } .swatch.p-float16 { background: #a8d5a2; }
.swatch.p-float32 { background: #a9c4e4; } .swatch.p-convert { background: #dddddd; } .swatch.p-input { background: #ffffff; }
.scroll { max-height: 1100px; overflow: auto; border: 1px solid #ddd; }
.candidate { fill: #9e9e9e; stroke: #333; stroke-width: 1; } .candidate.meets { fill: #54a24b; }
.chosen-ring { fill: none; stroke: #d62728; stroke-width: 2.5; } .path { stroke: #bbb; stroke-width: 1; fill: none; stroke-dasharray: 4 3; }
.target { stroke: #54a24b; stroke-width: 1; stroke-dasharray: 6 4; }
)css";

// A horizontal value axis from lo to hi mapped onto [x0, x0 + width].
struct Scale {
  double lo = 0, hi = 1, x0 = 0, width = 1;
  double At(double v) const { return x0 + (std::clamp(v, lo, hi) - lo) / (hi - lo) * width; }
};

// lo/hi over the finite values, widened to include 0 and rounded to ticks.
Scale ScaleFor(const std::vector<double>& values, double x0, double width) {
  double lo = 0, hi = 0;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo)) hi = lo + 1;
  const auto ticks = svg::Ticks(lo, hi, 8);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  Scale s{std::floor(lo / step) * step, std::ceil(hi / step) * step, x0, width};
  if (!(s.hi > s.lo)) s.hi = s.lo + 1;
  return s;
}

std::string AxisTicks(const Scale& s, double y_top, double y_bottom, const std::string& unit) {
  std::string out;
  for (double t : svg::Ticks(s.lo, s.hi, 8)) {
    out += svg::Line(s.At(t), y_top, s.At(t), y_bottom, "grid");
    out += svg::Text(s.At(t), y_bottom + 12, Figure(t), "small", "middle");
  }
  out += svg::Line(s.x0, y_bottom, s.x0 + s.width, y_bottom, "axis");
  out += svg::Text(s.x0 + s.width, y_bottom + 24, unit, "small", "end");
  return out;
}

std::string SvgOpen(double width, double height, const std::string& label) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\"" + Attr("viewBox", "0 0 " + Num(width, 0) + " " + Num(height, 0)) +
         Attr("width", width, 0) + Attr("height", height, 0) + Attr("role", "img") + Attr("aria-label", label) + ">";
}

// One bar; an infinite value (an exact tensor) fills the axis, faded, with
// its value as a word.
std::string Bar(const Scale& s, double value, double y, double height, const std::string& kind,
                const std::string& tensor, const std::string& title) {
  const bool infinite = std::isinf(value);
  const double from = s.At(std::min(0.0, s.hi)), to = infinite ? (value > 0 ? s.x0 + s.width : from) : s.At(value);
  std::string out =
      svg::Rect(std::min(from, to), y, std::abs(to - from), height, "bar " + kind + (infinite ? " inf" : ""), title,
                Attr("data-tensor", tensor) + Attr("data-sqnr", Num(value, 6)));
  out += svg::Text(std::max(from, to) + 4, y + height - 1, Num(value, 2), "small");
  return out;
}

std::string Summary(const ReportData& d) {
  const AccuracyAnalysis& a = d.analysis;
  std::string out = "<section id=\"summary\"><table>";
  auto row = [&](const std::string& key, const std::string& value) {
    out += "<tr><th>" + HtmlEscape(key) + "</th><td>" + HtmlEscape(value) + "</td></tr>";
  };
  row("precision mode", a.precision_mode);
  row("samples", std::to_string(a.samples));
  row("tensors compared", std::to_string(a.accumulated.size()));
  row("operators isolated", a.ranking.empty() ? "none (isolated analysis off)" : std::to_string(a.ranking.size()));
  for (const TensorError& e : a.outputs)
    row("output " + e.tensor, "SQNR " + Num(e.sqnr_db, 2) + " dB, cosine " + Num(e.cosine, 6));
  row("plan shown", d.plan_label);
  if (d.tuned) row("tuning", d.tune.stop_reason + " after " + std::to_string(d.tune.trajectory.size()) + " candidates");
  out += "</table></section>\n";
  return out;
}

// The error bars: the analysed operators' tensors in ranking order (each with
// its accumulated and isolated SQNR), then every other tensor (float32
// operators) in execution order with its accumulated SQNR.
std::string ErrorBars(const AccuracyAnalysis& a) {
  struct Row {
    std::string label, tensor, title;
    double accumulated = 0;
    bool has_isolated = false;
    double isolated = 0;
  };
  std::map<std::string, const TensorError*> accumulated;
  for (const TensorError& e : a.accumulated) accumulated[e.tensor] = &e;
  std::vector<Row> rows;
  std::map<std::string, bool> shown;
  for (const OperatorImpact& op : a.ranking)
    for (const TensorError& iso : op.isolated) {
      auto it = accumulated.find(iso.tensor);
      if (it == accumulated.end()) continue;
      rows.push_back({StrCat("#", op.rank, " ", op.node, " \u2192 ", iso.tensor), iso.tensor,
                      StrCat(op.node, " (", op.op_type, ", ", op.precision, "): only it quantized, output SQNR ",
                             Num(op.network_output.sqnr_db, 2), " dB"),
                      it->second->sqnr_db, true, iso.sqnr_db});
      shown[iso.tensor] = true;
    }
  const size_t ranked_rows = rows.size();
  for (const TensorError& e : a.accumulated)
    if (!shown.count(e.tensor))
      rows.push_back({e.tensor, e.tensor, e.node + " (" + e.op_type + ")", e.sqnr_db, false, 0});

  std::string out = "<section id=\"errors\"><h2>Error per tensor (SQNR, dB; higher is better)</h2>";
  out +=
      "<p class=\"note\"><span class=\"swatch\" style=\"background:#4c78a8\"></span>accumulated: the plan as "
      "built, everything upstream quantized";
  if (a.ranking.empty())
    out += ". The isolated analysis was off (--no-isolated): every tensor in execution order.</p>";
  else
    out +=
        "<span class=\"swatch\" style=\"background:#f58518\"></span>isolated: only the tensor's producer "
        "quantized. Analysed operators first, most harmful first (by the output SQNR each alone causes); then "
        "the tensors computed in float32, in execution order.</p>";
  if (rows.empty()) return out + "<p class=\"empty\">No tensor was compared.</p></section>\n";
  std::vector<double> values;
  for (const Row& r : rows) {
    values.push_back(r.accumulated);
    if (r.has_isolated) values.push_back(r.isolated);
  }
  const double label_width = 300, chart_width = 620, row_height = 22, top = 10;
  const Scale s = ScaleFor(values, label_width, chart_width);
  const double height = top + row_height * static_cast<double>(rows.size()) + 34;
  out += "<div class=\"scroll\">" + SvgOpen(label_width + chart_width + 60, height, "SQNR per tensor");
  out += AxisTicks(s, top, height - 30, "dB");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const double y = top + row_height * static_cast<double>(i);
    if (i == ranked_rows && i > 0) out += svg::Line(0, y, label_width + chart_width, y, "axis");
    out += "<g class=\"row\"" + Attr("data-tensor", r.tensor) + "><title>" + HtmlEscape(r.title) + "</title>";
    out += svg::Text(label_width - 6, y + 14, svg::Shorten(r.label, 46), "", "end");
    if (r.has_isolated) {
      out += Bar(s, r.accumulated, y + 2, 8, "acc", r.tensor, r.tensor + " accumulated");
      out += Bar(s, r.isolated, y + 11, 8, "iso", r.tensor, r.tensor + " isolated");
    } else {
      out += Bar(s, r.accumulated, y + 5, 10, "acc", r.tensor, r.tensor + " accumulated");
    }
    out += "</g>";
  }
  out += "</svg></div>";
  if (!a.ranking.empty()) {
    out +=
        "<table><tr><th>rank</th><th>node</th><th>op</th><th>precision</th><th>output SQNR alone</th>"
        "<th>lowest output cosine</th><th>own SQNR</th></tr>";
    for (const OperatorImpact& op : a.ranking)
      out += "<tr><td class=\"n\">" + std::to_string(op.rank) + "</td><td>" + HtmlEscape(op.node) + "</td><td>" +
             HtmlEscape(op.op_type) + "</td><td>" + HtmlEscape(op.precision) + "</td><td class=\"n\">" +
             Num(op.network_output.sqnr_db, 2) + "</td><td class=\"n\">" + Num(op.worst_output_cosine, 6) +
             "</td><td class=\"n\">" + (op.isolated.empty() ? "-" : Num(op.isolated[0].sqnr_db, 2)) + "</td></tr>";
    out += "</table>";
  }
  return out + "</section>\n";
}

std::string PlanGraph(const ReportData& d) {
  std::string out = "<section id=\"graph\"><h2>The plan, coloured by precision</h2>";
  out += "<p class=\"note\">" + HtmlEscape(d.plan_label) +
         ". Every node of the execution plan, in the precision it runs in (hover for kernel and storage "
         "types).</p>";
  if (d.plan.empty()) return out + "<p class=\"empty\">No plan to show.</p></section>\n";
  std::map<std::string, int> counts;
  for (const PlanNode& n : d.plan) ++counts[n.precision];
  out += "<p class=\"legend\">";
  for (const char* p : kPrecisionClasses)
    out += "<span class=\"swatch p-" + std::string(p) + "\"></span>" + p + " (" + std::to_string(counts[p]) + ")";
  out += "</p>";
  std::vector<std::pair<int, int>> edges;
  for (size_t i = 0; i < d.plan.size(); ++i)
    for (int f : d.plan[i].from) edges.emplace_back(f, static_cast<int>(i));
  const GraphLayout layout = LayoutLayered(static_cast<int>(d.plan.size()), edges);
  const double box_w = 150, box_h = 34, slot_w = 170, layer_h = 62, margin = 10;
  const double width = std::max(1, layout.width) * slot_w + 2 * margin;
  const double height = layout.layers * layer_h + 2 * margin;
  auto cx = [&](int i) { return margin + layout.nodes[static_cast<size_t>(i)].x * slot_w; };
  auto top = [&](int i) { return margin + layout.nodes[static_cast<size_t>(i)].layer * layer_h; };
  out += "<div class=\"scroll\">" + SvgOpen(width, height, "plan graph");
  for (const auto& [from, to] : edges) {
    if (from < 0 || from >= to) continue;
    const double x1 = cx(from), y1 = top(from) + box_h, x2 = cx(to), y2 = top(to), mid = (y1 + y2) / 2;
    out += "<path class=\"edge\"" +
           Attr("d", "M" + Num(x1, 1) + "," + Num(y1, 1) + " C" + Num(x1, 1) + "," + Num(mid, 1) + " " + Num(x2, 1) +
                         "," + Num(mid, 1) + " " + Num(x2, 1) + "," + Num(y2, 1)) +
           "/>";
  }
  for (size_t i = 0; i < d.plan.size(); ++i) {
    const PlanNode& n = d.plan[i];
    const double x = cx(static_cast<int>(i)) - box_w / 2, y = top(static_cast<int>(i));
    out += "<g" + Attr("class", "node p-" + n.precision) + Attr("data-node", n.name) +
           Attr("data-precision", n.precision) + "><title>" + HtmlEscape(n.name + " (" + n.op + ")\n" + n.detail) +
           "</title>";
    out += svg::Rect(x, y, box_w, box_h, "p-" + n.precision);
    out += svg::Text(x + box_w / 2, y + 14, svg::Shorten(n.name, 24), "", "middle");
    out += svg::Text(x + box_w / 2, y + 27, svg::Shorten(n.op + " \u00b7 " + n.precision, 28), "small", "middle");
    out += "</g>";
  }
  return out + "</svg></div></section>\n";
}

std::string Latency(const ReportData& d) {
  std::string out = "<section id=\"latency\"><h2>Time per operator</h2>";
  if (d.steps.empty()) return out + "<p class=\"empty\">No profile was taken.</p></section>\n";
  out += "<p class=\"note\">" + HtmlEscape(d.plan_label) + ": " + Figure(d.total_ms) + " ms per run, mean of " +
         std::to_string(d.profile_runs) + " profiled run(s) (" + HtmlEscape(d.profile_note) +
         "); wall time on this machine, with whatever else it was running.</p>";
  const double label_width = 300, chart_width = 560, row_height = 18;
  auto chart = [&](const std::string& heading, const std::vector<std::string>& labels, const std::vector<double>& ms,
                   const std::vector<double>& share, const std::string& kind, const std::vector<std::string>& titles) {
    std::string svg = "<h3>" + HtmlEscape(heading) + "</h3>";
    const Scale s = ScaleFor(ms, label_width, chart_width);
    const double height = 10 + row_height * static_cast<double>(ms.size()) + 34;
    svg += SvgOpen(label_width + chart_width + 110, height, heading);
    svg += AxisTicks(s, 10, height - 30, "ms");
    for (size_t i = 0; i < ms.size(); ++i) {
      const double y = 10 + row_height * static_cast<double>(i);
      svg += svg::Text(label_width - 6, y + 12, svg::Shorten(labels[i], 46), "", "end");
      svg += svg::Rect(s.At(0), y + 3, s.At(ms[i]) - s.At(0), row_height - 6, "bar " + kind, titles[i],
                       Attr("data-name", labels[i]) + Attr("data-ms", Num(ms[i], 6)));
      svg += svg::Text(s.At(ms[i]) + 4, y + 12, Figure(ms[i]) + " ms, " + Num(100 * share[i], 1) + " %", "small");
    }
    return svg + "</svg>";
  };
  {
    std::vector<std::string> labels;
    std::vector<double> ms, share;
    std::vector<std::string> titles;
    for (const OpTime& o : d.ops) {
      labels.push_back(o.op);
      ms.push_back(o.ms);
      share.push_back(o.share);
      titles.push_back(o.op + ": " + std::to_string(o.steps) + " step(s)");
    }
    out += chart("per operator type", labels, ms, share, "op", titles);
  }
  std::vector<size_t> order(d.steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return d.steps[a].ms > d.steps[b].ms; });
  constexpr size_t kShown = 40;
  {
    std::vector<std::string> labels;
    std::vector<double> ms, share;
    std::vector<std::string> titles;
    for (size_t k = 0; k < order.size() && k < kShown; ++k) {
      const StepTime& st = d.steps[order[k]];
      labels.push_back(st.node);
      ms.push_back(st.ms);
      share.push_back(st.share);
      titles.push_back(st.node + " (" + st.op + ", kernel " + st.kernel +
                       (st.fused.empty() ? "" : ", fused: " + st.fused) + ")");
    }
    out += chart(order.size() > kShown ? "per node, the " + std::to_string(kShown) + " heaviest of " +
                                             std::to_string(order.size()) + " steps"
                                       : "per node",
                 labels, ms, share, "step", titles);
  }
  out +=
      "<details><summary>every step, in execution order</summary><table><tr><th>node</th><th>op</th>"
      "<th>kernel</th><th>fused</th><th>ms</th><th>share</th></tr>";
  for (const StepTime& st : d.steps)
    out += "<tr><td>" + HtmlEscape(st.node) + "</td><td>" + HtmlEscape(st.op) + "</td><td>" + HtmlEscape(st.kernel) +
           "</td><td>" + HtmlEscape(st.fused) + "</td><td class=\"n\">" + Figure(st.ms) + "</td><td class=\"n\">" +
           Num(100 * st.share, 1) + " %</td></tr>";
  return out + "</table></details></section>\n";
}

std::string Promotions(const TuneCandidate& c) {
  std::string text;
  for (const auto& [node, precision] : c.node_precision) text += (text.empty() ? "" : ", ") + node + "=" + precision;
  return text.empty() ? "(start)" : text;
}

// What a candidate had to reach (TuneOptions' min_cosine, min_sqnr_db, min_metric).
std::string Target(const ReportData& d) {
  std::vector<std::string> parts;
  if (d.min_cosine > -1) parts.push_back("every output's cosine \u2265 " + Figure(d.min_cosine));
  if (d.min_sqnr_db > -1e299) parts.push_back("output SQNR \u2265 " + Figure(d.min_sqnr_db) + " dB");
  if (d.tune_metric) parts.push_back("metric \u2265 " + Figure(d.min_metric));
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : ", ") + p;
  return text.empty() ? "none" : text;
}

std::string Trajectory(const ReportData& d) {
  std::string out = "<section id=\"trajectory\"><h2>Tuning trajectory</h2>";
  if (!d.tuned)
    return out +
           "<p class=\"empty\">No tuning was run: <code>mixq tune ... --report DIR</code> (or TuneOptions::report.dir, "
           "mixq.tune(..., report_dir=...)) draws every candidate here.</p></section>\n";
  const auto& traj = d.tune.trajectory;
  const std::string y_name = d.tune_metric ? "metric" : "output SQNR (dB)";
  auto y_of = [&](const TuneCandidate& c) { return d.tune_metric ? c.metric : c.output_sqnr_db; };
  out += "<p class=\"note\">Every candidate: x its median latency on this machine, y its " + HtmlEscape(y_name) +
         "; green points meet the target, the ringed one is the plan chosen (" + HtmlEscape(d.tune.stop_reason) +
         "). The dashed path joins them in the order tried. The target: " + HtmlEscape(Target(d)) + ".</p>";
  if (traj.empty()) return out + "<p class=\"empty\">No candidate was measured.</p></section>\n";
  std::vector<double> xs, ys;
  for (const auto& c : traj) xs.push_back(c.latency_ms), ys.push_back(y_of(c));
  const double left = 70, plot_w = 640, plot_top = 16, plot_h = 360;
  const Scale sx = ScaleFor(xs, left, plot_w);
  Scale sy = ScaleFor(ys, 0, plot_h);  // mapped upside down below
  if (!d.tune_metric && d.min_sqnr_db > -1e299 && std::isfinite(d.min_sqnr_db)) {
    ys.push_back(d.min_sqnr_db);
    sy = ScaleFor(ys, 0, plot_h);
  }
  auto Y = [&](double v) {
    const double at = std::isinf(v) ? (v > 0 ? sy.hi : sy.lo) : v;
    return plot_top + plot_h - (sy.At(at) - sy.x0);
  };
  out += SvgOpen(left + plot_w + 40, plot_top + plot_h + 50, "latency against accuracy");
  for (double t : svg::Ticks(sy.lo, sy.hi, 8)) {
    out += svg::Line(left, Y(t), left + plot_w, Y(t), "grid");
    out += svg::Text(left - 6, Y(t) + 4, Figure(t), "small", "end");
  }
  out += AxisTicks(sx, plot_top, plot_top + plot_h, "latency (ms)");
  out += svg::Line(left, plot_top, left, plot_top + plot_h, "axis");
  out += svg::Text(left, plot_top - 4, y_name, "small", "start");
  const double target = d.tune_metric ? d.min_metric : d.min_sqnr_db;
  if (std::isfinite(target) && target > -1e299) {
    out += svg::Line(left, Y(target), left + plot_w, Y(target), "target");
    out += svg::Text(left + plot_w, Y(target) - 4, "target", "small", "end");
  }
  std::string path;
  for (size_t i = 0; i < traj.size(); ++i) path += (i ? " L" : "M") + Num(sx.At(xs[i]), 1) + "," + Num(Y(ys[i]), 1);
  out += "<path class=\"path\"" + Attr("d", path) + "/>";
  size_t chosen = traj.size();
  for (size_t i = 0; i < traj.size(); ++i) {
    const TuneCandidate& c = traj[i];
    const bool is_chosen = chosen == traj.size() && c.node_precision == d.tune.chosen.node_precision &&
                           c.latency_ms == d.tune.chosen.latency_ms && y_of(c) == y_of(d.tune.chosen);
    if (is_chosen) chosen = i;
    const std::string title = "candidate " + std::to_string(i + 1) + ": " + Promotions(c) + "\nSQNR " +
                              Num(c.output_sqnr_db, 2) + " dB, cosine " + Num(c.output_cosine, 6) +
                              (d.tune_metric ? ", metric " + Figure(c.metric) : "") + ", " + Figure(c.latency_ms) +
                              " ms" + (c.meets_target ? " (meets the target)" : "");
    out +=
        svg::Circle(sx.At(xs[i]), Y(ys[i]), 5,
                    std::string("candidate") + (c.meets_target ? " meets" : "") + (is_chosen ? " chosen" : ""), title,
                    Attr("data-index", std::to_string(i + 1)) + Attr("data-latency", Num(xs[i], 6)) +
                        Attr("data-y", Num(ys[i], 6)));
  }
  if (chosen < traj.size()) {
    out += svg::Circle(sx.At(xs[chosen]), Y(ys[chosen]), 10, "chosen-ring");
    out += svg::Text(sx.At(xs[chosen]) + 13, Y(ys[chosen]) + 4, "chosen (#" + std::to_string(chosen + 1) + ")", "head");
  }
  out += "</svg><table><tr><th>#</th><th>promotions</th><th>SQNR (dB)</th><th>lowest cosine</th>" +
         std::string(d.tune_metric ? "<th>metric</th>" : "") + "<th>latency (ms)</th><th>target</th></tr>";
  for (size_t i = 0; i < traj.size(); ++i) {
    const TuneCandidate& c = traj[i];
    out += std::string("<tr") + (i == chosen ? " class=\"chosen\"" : "") + "><td class=\"n\">" + std::to_string(i + 1) +
           "</td><td>" + HtmlEscape(Promotions(c)) + "</td><td class=\"n\">" + Num(c.output_sqnr_db, 2) +
           "</td><td class=\"n\">" + Num(c.output_cosine, 6) + "</td>" +
           (d.tune_metric ? "<td class=\"n\">" + Figure(c.metric) + "</td>" : "") + "<td class=\"n\">" +
           Figure(c.latency_ms) + "</td><td>" + (c.meets_target ? "met" : "") + (i == chosen ? " (chosen)" : "") +
           "</td></tr>";
  }
  return out + "</table></section>\n";
}

}  // namespace

std::string RenderHtmlReport(const ReportData& data) {
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      // Nothing may load or run: the page is a file, names in it come from the model.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
      "<title>mixq accuracy report: " +
      HtmlEscape(data.title) + "</title><style>" + kStyle + "</style></head><body>\n";
  page += "<h1>mixq accuracy report: " + HtmlEscape(data.title) + "</h1>\n";
  page += Summary(data);
  page += ErrorBars(data.analysis);
  page += PlanGraph(data);
  page += Latency(data);
  page += Trajectory(data);
  page += "<p class=\"note\">Written by mixq (docs/accuracy.md, \"The report\").</p></body></html>\n";
  return page;
}

}  // namespace mixq::analysis
