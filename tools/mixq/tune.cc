// mixq tune: the fastest plan that meets an accuracy target, found by
// promoting the most harmful operators one precision step at a time
// (include/mixq/tune.h); writes the builder config with the promotions.
#include "mixq/tune.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "calib_data.h"
#include "cli.h"
#include "onnx_import.h"
#include "progress.h"
#include "util/status_util.h"

namespace mixq::cli {

int TuneMain(const std::vector<std::string>& args) {
  Args parser(
      "tune",
      "MODEL.onnx --calib-data DIR|LIST -o TUNED.json [--precision MODE] [--config CFG.json]\n"
      "                  [--min-cosine C] [--min-sqnr DB] [--time-budget S] [--eval-data DIR|LIST] [--report DIR]\n"
      "                  [--start-modes M1,M2] [--first-met]",
      "Calibrates MODEL.onnx, ranks its operators by the output error each causes alone (as mixq\n"
      "analyze does), then promotes them, most harmful first, one step at a time (qint8 -> qint16 ->\n"
      "float16 -> float32), building and running every candidate on the samples, until the outputs\n"
      "meet the target (every output's cosine >= --min-cosine and SQNR >= --min-sqnr); then takes\n"
      "back each promotion, latest first, where the plan still meets the target and measures no\n"
      "slower, and tries each remaining promoted operator's other precisions, keeping one that still\n"
      "meets the target and measures at least 5 % faster (--first-met: stop at the first plan that\n"
      "meets it). Prints each\n"
      "candidate with its error and latency, and writes the chosen builder config (the promotions\n"
      "under precision_config.node_precision) to -o. Exit 1 when the target is not met (the most\n"
      "accurate candidate is written then). --report DIR writes DIR/index.html: the page of mixq analyze\n"
      "--report for the chosen plan, plus every candidate's latency against its accuracy.");
  parser.AddPositional("MODEL.onnx", "the ONNX model to tune");
  parser.AddFlag("output", "o", "TUNED.json", "the builder config to write (required)");
  parser.AddFlag("precision", "p", "MODE", "the starting precision_mode (default qint8_mixed_float32)");
  parser.AddFlag("config", "c", "CFG.json", "the starting builder configuration");
  parser.AddFlag("input-shape", "", "NAME:DIMS", "fix an input's dims before import, e.g. x:1x3x224x224", true);
  parser.AddFlag("calib-data", "", "DIR|LIST", "calibration samples (.npy / .npz per sample, as for mixq build)");
  parser.AddFlag("calib-algo", "", "ALGO", "linear (default), eqnm, entropy, percentile or auto");
  parser.AddFlag("calib-percentile", "", "P", "the percentile for --calib-algo percentile or auto (default 99.99)");
  parser.AddFlag("eval-data", "", "DIR|LIST", "samples to measure on (default: the calibration samples)");
  parser.AddFlag("min-cosine", "", "C", "target: the lowest output cosine (default 0.999)");
  parser.AddFlag("min-sqnr", "", "DB", "target: the output SQNR in dB (default: none)");
  parser.AddFlag("time-budget", "", "S", "stop after S seconds with the best candidate so far (default 600)");
  parser.AddFlag("max-samples", "", "N", "use at most N samples of the measuring data");
  parser.AddFlag("threads", "", "N", "threads per inference (default: every core)");
  parser.AddFlag("report", "", "DIR", "also write the HTML report DIR/index.html (DIR is created)");
  parser.AddFlag("start-modes", "", "M1,M2",
                 "time these precision modes here and start from the fastest (e.g.\n"
                 "qint8_mixed_float32,qint8_mixed_float16; default: --precision's mode)");
  parser.AddSwitch("first-met", "return the first plan that meets the target, without trying faster variants");
  if (int code = ParseOrExit(&parser, "tune", args); code >= 0) return code;
  if (!parser.Has("output")) return Fail("tune", InvalidArgument("-o TUNED.json is required"), kExitUsage);
  if (!parser.Has("calib-data"))
    return Fail("tune", InvalidArgument("--calib-data is required (the samples that give the ranges)"), kExitUsage);
  TuneOptions options;
  options.prefer_faster = !parser.Has("first-met");
  struct NumberFlag {
    const char* name;
    double* value;
  };
  for (NumberFlag flag : {NumberFlag{"min-cosine", &options.min_cosine}, NumberFlag{"min-sqnr", &options.min_sqnr_db},
                          NumberFlag{"time-budget", &options.time_budget_seconds}})
    if (parser.Has(flag.name))
      if (Status s = ParseDouble(parser.Get(flag.name), StrCat("--", flag.name), flag.value); !s.ok())
        return Fail("tune", s, kExitUsage);
  if (parser.Has("max-samples"))
    if (Status s = ParseInt(parser.Get("max-samples"), "--max-samples", 1, INT64_MAX, &options.max_samples); !s.ok())
      return Fail("tune", s, kExitUsage);
  if (parser.Has("threads")) {
    int64_t threads = 0;
    if (Status s = ParseInt(parser.Get("threads"), "--threads", 1, 1024, &threads); !s.ok())
      return Fail("tune", s, kExitUsage);
    options.num_threads = static_cast<int>(threads);
  }
  if (parser.Has("start-modes")) {
    std::stringstream list(parser.Get("start-modes"));
    for (std::string mode; std::getline(list, mode, ',');)
      if (!mode.empty()) options.start_modes.push_back(mode);
    if (options.start_modes.empty())
      return Fail("tune", InvalidArgument("--start-modes: no mode in '", parser.Get("start-modes"), "'"), kExitUsage);
  }
  if (parser.Has("report")) {
    options.report.dir = parser.Get("report");
    options.report.title = std::filesystem::path(parser.Positional(0)).filename().string();
  }
  std::map<std::string, Dims> input_dims;
  if (Status s = ParseInputShapes(parser.GetAll("input-shape"), "input-shape", &input_dims); !s.ok())
    return Fail("tune", s, kExitUsage);
  auto config = CreateIBuilderConfig();
  if (!parser.Has("precision") && !parser.Has("config"))
    (void)config->ParseFromString(R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  if (Status s = ConfigFromArgs(parser, config.get()); !s.ok()) return Fail("tune", s, kExitUsage);

  auto network = CreateINetwork();
  if (Status s = ImportOnnx(parser.Positional(0), input_dims, network.get()); !s.ok()) return Fail("tune", s);
  if (Status s = CalibrateFromArgs(parser, "tune", network.get(), config.get()); !s.ok()) return Fail("tune", s);
  std::vector<std::string> names;
  std::vector<DataType> types;
  for (int64_t i = 0; i < network->GetInputCount(); ++i) {
    names.push_back(network->GetInput(i)->GetTensorName());
    const DataType t = network->GetInput(i)->GetDataType();
    types.push_back(t == DataType::QINT8 || t == DataType::QINT16 ? DataType::FLOAT32 : t);
  }
  CalibSamples samples;
  if (Status s = samples.Open(parser.Get("eval-data", parser.Get("calib-data")), names, types); !s.ok())
    return Fail("tune", s);
  std::vector<std::unique_ptr<FileCalibData>> owned;
  std::vector<CalibDataInterface*> data;
  for (size_t i = 0; i < names.size(); ++i) {
    owned.push_back(std::make_unique<FileCalibData>(&samples, i));
    data.push_back(owned.back().get());
  }
  std::fprintf(stderr, "tuning: analysing the operators, then one build per candidate\n");
  ProgressBar bar("analysing", "builds");
  bool analysed = false;
  options.analysis_progress = [&bar](int64_t done, int64_t total, const std::string&) { bar.Update(done, total); };
  const auto start = std::chrono::steady_clock::now();
  const double budget = options.time_budget_seconds;
  options.progress = [&](int64_t done, const std::string& message) {
    if (done == 0) {  // the start modes' timings (--start-modes), before the analysis
      std::fprintf(stderr, "start: %s\n", message.c_str());
      return;
    }
    if (!analysed) {
      analysed = true;
      bar.Finish("harm order ready");
    }
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "candidate %lld (%.0f s of the %.0f s budget): %s\n", static_cast<long long>(done), spent,
                 budget, message.c_str());
  };
  TuneResult result;
  if (Status s = TunePrecision(network.get(), config.get(), data, options, &result); !s.ok()) return Fail("tune", s);
  std::ofstream out(parser.Get("output"), std::ios::trunc);
  out << result.config_json << "\n";
  out.close();
  if (!out) return Fail("tune", DataLoss("error writing '", parser.Get("output"), "'"));
  std::printf("%s after %zu candidates: output SQNR %.2f dB, lowest output cosine %.6f, %.3f ms; wrote %s\n",
              result.stop_reason.c_str(), result.trajectory.size(), result.chosen.output_sqnr_db,
              result.chosen.output_cosine, result.chosen.latency_ms, parser.Get("output").c_str());
  for (const auto& [node, precision] : result.chosen.node_precision)
    std::printf("  %s -> %s\n", node.c_str(), precision.c_str());
  if (parser.Has("report"))
    std::fprintf(stderr, "mixq tune: wrote %s\n",
                 (std::filesystem::path(options.report.dir) / "index.html").string().c_str());
  return result.target_met ? 0 : kExitFailure;
}

}  // namespace mixq::cli
