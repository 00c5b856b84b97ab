// The accuracy report (src/analysis/html_report.cc, report_data.cc): the page
// generated from hand-made data carries one bar per tensor with its value,
// one box per plan node in the right precision class, one point per tuning
// candidate, and every name escaped; the plan graph and the profile are read
// from the engine's JSON; AnalyzeAccuracy with a report directory writes it.
// GCC 12 at -O1 with the sanitizers (scripts/build_sanitize) reports a false
// maybe-uninitialized inside libstdc++'s std::regex automaton; -Werror would
// fail the sanitizer build on library code this test only uses.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "analysis/html_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/graph_layout.h"
#include "analysis/report_data.h"
#include "analysis/svg.h"
#include "api_test_util.h"
#include "calib_test_util.h"
#include "mixq/analysis.h"
#include "mixq/mixq.h"

namespace mixq::testing {
namespace {

using analysis::PlanNode;
using analysis::ReportData;

// Every element `tag` whose class attribute starts with `class_prefix`, as a
// map of its attributes (in the order they appear in the page).
std::vector<std::map<std::string, std::string>> Elements(const std::string& html, const std::string& tag,
                                                         const std::string& class_prefix) {
  std::vector<std::map<std::string, std::string>> found;
  const std::regex element("<" + tag + "(\\s[^>]*)>");
  const std::regex attribute("([a-z0-9-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), element); it != std::sregex_iterator(); ++it) {
    std::map<std::string, std::string> attrs;
    const std::string body = (*it)[1];
    for (auto a = std::sregex_iterator(body.begin(), body.end(), attribute); a != std::sregex_iterator(); ++a)
      attrs[(*a)[1]] = (*a)[2];
    if (attrs["class"].rfind(class_prefix, 0) == 0) found.push_back(attrs);
  }
  return found;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TensorError Error(const std::string& tensor, const std::string& node, double sqnr) {
  TensorError e;
  e.tensor = tensor;
  e.node = node;
  e.op_type = "FullyConnected";
  e.sqnr_db = sqnr;
  return e;
}

// Three tensors in execution order: fc1's h1 and fc2's h2 analysed (fc2 the
// more harmful), r1 computed in float32 and exact (+inf).
ReportData Sample() {
  ReportData d;
  d.title = "test net";
  d.plan_label = "the plan as configured";
  d.analysis.precision_mode = "qint8_mixed_float32";
  d.analysis.samples = 3;
  d.analysis.accumulated = {Error("h1", "fc1", 40.5), Error("r1", "relu1", std::numeric_limits<double>::infinity()),
                            Error("h2", "fc2", 10.25)};
  d.analysis.outputs = {d.analysis.accumulated[2]};
  OperatorImpact fc2{"fc2", "FullyConnected", "in QINT8; out FLOAT32", {Error("h2", "fc2", 12.5)}, {}, 0.9, 1};
  fc2.network_output = Error("(all network outputs)", "", 12.5);
  OperatorImpact fc1{"fc1", "FullyConnected", "in QINT8; out FLOAT32", {Error("h1", "fc1", 41.0)}, {}, 0.99, 2};
  fc1.network_output = Error("(all network outputs)", "", 30.0);
  d.analysis.ranking = {fc2, fc1};
  return d;
}

TEST(HtmlReport, OneBarPerTensorWithItsValueInTheAnalysisOrder) {
  const std::string html = RenderHtmlReport(Sample());
  // Accumulated: one bar per tensor, ranked operators' tensors first (fc2's h2,
  // fc1's h1), then the float32 one (r1).
  const auto acc = Elements(html, "rect", "bar acc");
  ASSERT_EQ(acc.size(), 3u) << html;
  EXPECT_EQ(acc[0].at("data-tensor"), "h2");
  EXPECT_EQ(acc[1].at("data-tensor"), "h1");
  EXPECT_EQ(acc[2].at("data-tensor"), "r1");
  EXPECT_DOUBLE_EQ(std::stod(acc[0].at("data-sqnr")), 10.25);
  EXPECT_DOUBLE_EQ(std::stod(acc[1].at("data-sqnr")), 40.5);
  EXPECT_EQ(acc[2].at("data-sqnr"), "inf");
  EXPECT_EQ(acc[2].at("class"), "bar acc inf");
  // Isolated: one bar per analysed tensor.
  const auto iso = Elements(html, "rect", "bar iso");
  ASSERT_EQ(iso.size(), 2u);
  EXPECT_EQ(iso[0].at("data-tensor"), "h2");
  EXPECT_DOUBLE_EQ(std::stod(iso[0].at("data-sqnr")), 12.5);
  EXPECT_EQ(iso[1].at("data-tensor"), "h1");
  EXPECT_DOUBLE_EQ(std::stod(iso[1].at("data-sqnr")), 41.0);
  // Lengths are proportional to the values (the axis starts at 0 here): the
  // rounding of widths to 0.1 px is the only slack.
  const double w_h2 = std::stod(acc[0].at("width")), w_h1 = std::stod(acc[1].at("width"));
  EXPECT_NEAR(w_h2 / w_h1, 10.25 / 40.5, 0.002);
  EXPECT_NEAR(std::stod(iso[0].at("width")) / w_h1, 12.5 / 40.5, 0.002);
  // The exact tensor fills the axis: as long as the axis (0 .. 50 dB here).
  EXPECT_NEAR(w_h1 / std::stod(acc[2].at("width")), 40.5 / 50.0, 0.002);
  // The sections are there, and nothing can load or run.
  for (const char* id : {"summary", "errors", "graph", "latency", "trajectory"})
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(Count(html, "://"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));  // the only URLs: SVG's namespace
  EXPECT_NE(html.find("No tuning was run"), std::string::npos);
}

// The precision report of a context (the shape IContext::GetPrecisionReportJson
// writes): a quantize step the lowering put in front of fc (its output named by
// no row), fc in QINT8 with relu fused and running on its INT8 output, a
// float16 add, a QINT16 matmul writing INT8 (it computes in 16 bits), a
// float32 softmax after a dequantize node.
const char* kPrecisionReport = R"({"precision_mode": "qint8_mixed_float32", "nodes": [
 {"node": "x/quantize_INT8", "op": "Quantize", "kernel": "avx2", "fused_into": "", "reason": "",
  "inputs": [{"tensor": "x", "actual": "FLOAT32"}], "outputs": [{"tensor": "x/quantize_INT8:0", "storage": "INT8"}]},
 {"node": "fc", "op": "FullyConnected", "kernel": "avx2-int8", "fused_into": "",
  "inputs": [{"tensor": "x", "actual": "QINT8"}, {"tensor": "w", "actual": "QINT8"}],
  "outputs": [{"tensor": "h", "storage": "INT8"}]},
 {"node": "relu", "op": "Activation", "kernel": "avx2-int8", "fused_into": "fc",
  "inputs": [{"tensor": "h", "actual": "FLOAT32"}], "outputs": [{"tensor": "r", "storage": "INT8"}]},
 {"node": "add", "op": "Add", "kernel": "ref", "fused_into": "",
  "inputs": [{"tensor": "r", "actual": "FLOAT16"}, {"tensor": "x", "actual": "FLOAT16"}],
  "outputs": [{"tensor": "a", "storage": "FLOAT16"}]},
 {"node": "mm", "op": "MatMul", "kernel": "ref", "fused_into": "",
  "inputs": [{"tensor": "a", "actual": "QINT16"}], "outputs": [{"tensor": "m", "storage": "INT8"}]},
 {"node": "m/dequantize", "op": "Dequantize", "kernel": "ref", "fused_into": "",
  "inputs": [{"tensor": "m", "actual": "FLOAT32"}], "outputs": [{"tensor": "md", "storage": "FLOAT32"}]},
 {"node": "soft<max>", "op": "Softmax", "kernel": "ref", "fused_into": "",
  "inputs": [{"tensor": "md", "actual": "FLOAT32"}], "outputs": [{"tensor": "y", "storage": "FLOAT32"}]}]})";

TEST(HtmlReport, PlanGraphBoxesCarryThePrecisionTheyRunIn) {
  ReportData d = Sample();
  ASSERT_TRUE(analysis::ParsePlanGraph(kPrecisionReport, {"x"}, &d.plan).ok());
  ASSERT_EQ(d.plan.size(), 8u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"x", "input"},   {"x/quantize_INT8", "convert"}, {"fc", "qint8"},         {"relu", "qint8"}, {"add", "float16"},
      {"mm", "qint16"}, {"m/dequantize", "convert"},    {"soft<max>", "float32"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(d.plan[i].name, want[i].first);
    EXPECT_EQ(d.plan[i].precision, want[i].second) << d.plan[i].name;
  }
  // Edges: fc reads x through the quantize step; add reads x itself (as
  // float16: no step feeds that) and relu's r; relu reads fc's h.
  const std::vector<std::vector<int>> from = {{}, {0}, {1}, {2}, {3, 0}, {4}, {5}, {6}};
  for (size_t i = 0; i < from.size(); ++i) EXPECT_EQ(d.plan[i].from, from[i]) << d.plan[i].name;

  const std::string html = RenderHtmlReport(d);
  const auto boxes = Elements(html, "g", "node ");
  ASSERT_EQ(boxes.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(boxes[i].at("data-node"), analysis::svg::HtmlEscape(want[i].first));
    EXPECT_EQ(boxes[i].at("class"), "node p-" + want[i].second);
    EXPECT_EQ(boxes[i].at("data-precision"), want[i].second);
  }
  EXPECT_EQ(Elements(html, "path", "edge").size(), 8u);
  // Each class has its colour, and the legend counts the boxes.
  EXPECT_NE(html.find(".p-qint8 { fill: #f4a6a6; }"), std::string::npos);
  EXPECT_NE(html.find(".p-qint16 { fill: #f9cf8f; }"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"swatch p-qint8\"></span>qint8 (2)"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"swatch p-convert\"></span>convert (2)"), std::string::npos);
}

TEST(HtmlReport, NamesFromTheModelAreEscaped) {
  ReportData d = Sample();
  const std::string evil = "<script>alert(\"x\")</script>&'";
  d.title = evil;
  d.analysis.accumulated[0].tensor = evil;
  d.analysis.ranking[1].node = evil;
  d.analysis.ranking[1].isolated[0].tensor = evil;
  d.plan = {PlanNode{evil, "Op<b>", "qint8", "kernel <i>", {}, {"t"}, {}}};
  d.steps = {{evil, "Op<b>", "k&k", "", 1.0, 1.0}};
  d.ops = {{"Op<b>", 1, 1.0, 1.0}};
  d.profile_runs = 1;
  d.tuned = true;
  TuneCandidate c;
  c.node_precision = {{evil, "qint16"}};
  d.tune.trajectory = {c};
  d.tune.chosen = c;
  const std::string html = RenderHtmlReport(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"), std::string::npos);
  EXPECT_EQ(analysis::svg::HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  // Cut names keep whole UTF-8 characters.
  EXPECT_EQ(analysis::svg::Shorten("\xc3\xa9t\xc3\xa9s", 3), "\xc3\xa9t\xc3\xa9\u2026");
}

TEST(HtmlReport, TrajectoryHasOnePointPerCandidateAndMarksTheChosenOne) {
  ReportData d = Sample();
  d.tuned = true;
  const double sqnr[] = {12.5, 38.4, 38.2, 44.0};
  const double ms[] = {0.5, 0.75, 0.6, 1.0};
  for (int i = 0; i < 4; ++i) {
    TuneCandidate c;
    if (i > 0) c.node_precision = {{"fc2", i == 2 ? "float16" : "qint16"}};
    if (i == 3) c.node_precision["fc1"] = "qint16";
    c.output_sqnr_db = sqnr[i];
    c.latency_ms = ms[i];
    c.meets_target = i == 3;
    d.tune.trajectory.push_back(c);
  }
  d.tune.chosen = d.tune.trajectory[3];
  d.tune.stop_reason = "target met";
  d.min_cosine = 0.999;
  d.min_sqnr_db = 40;
  const std::string html = RenderHtmlReport(d);
  const auto points = Elements(html, "circle", "candidate");
  ASSERT_EQ(points.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(points[i].at("data-index"), std::to_string(i + 1));
    EXPECT_DOUBLE_EQ(std::stod(points[i].at("data-latency")), ms[i]);
    EXPECT_DOUBLE_EQ(std::stod(points[i].at("data-y")), sqnr[i]);
    EXPECT_EQ(points[i].at("class"), i == 3 ? "candidate meets chosen" : "candidate");
  }
  EXPECT_EQ(Elements(html, "circle", "chosen-ring").size(), 1u);
  // y grows upwards, x to the right: candidate 4 is right of and above 1.
  EXPECT_GT(std::stod(points[3].at("cx")), std::stod(points[0].at("cx")));
  EXPECT_LT(std::stod(points[3].at("cy")), std::stod(points[0].at("cy")));
  EXPECT_EQ(html.find("No tuning was run"), std::string::npos);
  EXPECT_NE(html.find("The target: every output&#39;s cosine \u2265 0.999, output SQNR \u2265 40 dB."),
            std::string::npos);
  // The SQNR target is drawn as a line at 40 dB: between candidates 1 (12.5) and 4 (44).
  const auto target = Elements(html, "line", "target");
  ASSERT_EQ(target.size(), 1u);
  EXPECT_GT(std::stod(target[0].at("y1")), std::stod(points[3].at("cy")));
  EXPECT_LT(std::stod(target[0].at("y1")), std::stod(points[0].at("cy")));
}

TEST(HtmlReport, ProfileJsonGivesOneBarPerOpTypeAndStep) {
  ReportData d = Sample();
  const char* profile = R"({"runs": 4, "first_run_excluded": true, "total_ms": 3.0,
    "steps": [{"step": 0, "node": "fc", "op": "FullyConnected", "kernel": "avx2-int8", "fused": ["relu"],
               "ms": 2.0, "share": 0.6667},
              {"step": 1, "node": "soft", "op": "Softmax", "kernel": "ref", "fused": [], "ms": 1.0, "share": 0.3333}],
    "ops": [{"op": "FullyConnected", "steps": 1, "ms": 2.0, "share": 0.6667},
            {"op": "Softmax", "steps": 1, "ms": 1.0, "share": 0.3333}]})";
  ASSERT_TRUE(analysis::ParseProfile(profile, &d).ok());
  EXPECT_EQ(d.profile_runs, 4);
  EXPECT_DOUBLE_EQ(d.total_ms, 3.0);
  ASSERT_EQ(d.steps.size(), 2u);
  EXPECT_EQ(d.steps[0].fused, "relu");
  const std::string html = RenderHtmlReport(d);
  const auto ops = Elements(html, "rect", "bar op");
  const auto steps = Elements(html, "rect", "bar step");
  ASSERT_EQ(ops.size(), 2u);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(ops[0].at("data-name"), "FullyConnected");
  EXPECT_DOUBLE_EQ(std::stod(ops[0].at("data-ms")), 2.0);
  EXPECT_EQ(steps[1].at("data-name"), "soft");
  EXPECT_NEAR(std::stod(steps[0].at("width")) / std::stod(steps[1].at("width")), 2.0, 0.01);
  EXPECT_FALSE(analysis::ParseProfile("[1, 2]", &d).ok());
  EXPECT_FALSE(analysis::ParsePlanGraph("{\"nodes\": 3}", {}, &d.plan).ok());
}

TEST(HtmlReport, LayeredLayout) {
  // a -> b -> d, a -> c -> d: three layers, b and c side by side.
  const auto layout = analysis::LayoutLayered(4, {{0, 1}, {0, 2}, {1, 3}, {2, 3}});
  EXPECT_EQ(layout.layers, 3);
  EXPECT_EQ(layout.width, 2);
  EXPECT_EQ(layout.nodes[0].layer, 0);
  EXPECT_EQ(layout.nodes[1].layer, 1);
  EXPECT_EQ(layout.nodes[2].layer, 1);
  EXPECT_EQ(layout.nodes[3].layer, 2);
  EXPECT_NE(layout.nodes[1].x, layout.nodes[2].x);
  EXPECT_DOUBLE_EQ(layout.nodes[0].x, 1.0);  // centred over the two
  // A backward edge is ignored, not looped on.
  EXPECT_EQ(analysis::LayoutLayered(2, {{1, 0}}).layers, 1);
}

std::unique_ptr<INetwork> OneLayer(const std::vector<float>& weights) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 8}));
  x->SetTensorName("x");
  auto* fc = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({4, 8}), weights.data())->GetOutput(0), nullptr);
  fc->SetNodeName("fc<1>");
  fc->GetOutput(0)->SetTensorName("y");
  EXPECT_TRUE(network->MarkOutput(fc->GetOutput(0)).ok());
  return network;
}

TEST(HtmlReport, AnalyzeAccuracyWritesThePageAndNamesAnUnwritableDirectory) {
  const std::vector<float> weights = RandomFloats(4 * 8, 7, -0.5f, 0.5f);
  auto network = OneLayer(weights);
  std::vector<VectorCalibData::Sample> samples;
  for (uint32_t s = 0; s < 3; ++s) samples.push_back({Dims({2, 8}), RandomFloats(2 * 8, 70 + s)});
  VectorCalibData data(samples);
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(kQint8MixedFloat32).ok());
  ASSERT_TRUE(CreateICalibrator(&data)->Calibrate(network.get(), config.get()).ok());

  const auto dir = std::filesystem::temp_directory_path() / ("mixq_report_" + std::to_string(::getpid())) / "sub";
  AnalysisOptions options;
  options.report.dir = dir.string();
  options.report.title = "one layer";
  options.report.profile_runs = 2;
  AccuracyAnalysis result;
  const Status s = AnalyzeAccuracy(network.get(), config.get(), {&data}, options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::ifstream in(dir / "index.html");
  std::stringstream page;
  page << in.rdbuf();
  const std::string html = page.str();
  const auto acc = Elements(html, "rect", "bar acc");
  ASSERT_EQ(acc.size(), result.accumulated.size());
  EXPECT_EQ(acc[0].at("data-tensor"), "y");
  EXPECT_DOUBLE_EQ(std::stod(acc[0].at("data-sqnr")), std::stod(analysis::svg::Num(result.accumulated[0].sqnr_db, 6)));
  const auto boxes = Elements(html, "g", "node ");
  bool fc_int8 = false;
  for (const auto& b : boxes)
    fc_int8 = fc_int8 || (b.at("data-node") == "fc&lt;1&gt;" && b.at("class") == "node p-qint8");
  EXPECT_TRUE(fc_int8) << html;
  EXPECT_EQ(Elements(html, "rect", "bar step").size(), 2u);  // the quantize step and fc
  EXPECT_NE(html.find("mean of 2 profiled run(s)"), std::string::npos);
  EXPECT_NE(html.find("No tuning was run"), std::string::npos);
  std::filesystem::remove_all(dir.parent_path());

  // A directory under a regular file cannot be made: the Status names it, and
  // nothing is analysed first.
  const auto file = std::filesystem::temp_directory_path() / ("mixq_report_file_" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  options.report.dir = (file / "out").string();
  const Status bad = AnalyzeAccuracy(network.get(), config.get(), {&data}, options, &result);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find(options.report.dir), std::string::npos) << bad.ToString();
  EXPECT_TRUE(result.accumulated.empty());
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace mixq::testing
