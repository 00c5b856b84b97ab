// mixq analyze: layer-wise error of a quantized build against float32 on
// sample data, and the operators ranked by what each alone costs at the
// outputs (include/mixq/analysis.h, docs/accuracy.md).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "calib_data.h"
#include "cli.h"
#include "mixq/analysis.h"
#include "onnx_import.h"
#include "progress.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace {

// One FileCalibData per network input over the samples of `source`.
struct FileData {
  CalibSamples samples;
  std::vector<std::unique_ptr<FileCalibData>> owned;
  std::vector<CalibDataInterface*> pointers;

  Status Open(const std::string& source, INetwork* network) {
    std::vector<std::string> names;
    std::vector<DataType> types;
    for (int64_t i = 0; i < network->GetInputCount(); ++i) {
      names.push_back(network->GetInput(i)->GetTensorName());
      // A QINT8 / QINT16 input takes float32 data.
      const DataType t = network->GetInput(i)->GetDataType();
      types.push_back(t == DataType::QINT8 || t == DataType::QINT16 ? DataType::FLOAT32 : t);
    }
    MIXQ_RETURN_IF_ERROR(samples.Open(source, names, types));
    for (size_t i = 0; i < names.size(); ++i) {
      owned.push_back(std::make_unique<FileCalibData>(&samples, i));
      pointers.push_back(owned.back().get());
    }
    return Status::OK();
  }
};

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("cannot open '", path, "' for writing");
  out << text;
  out.close();
  if (!out) return DataLoss("error writing '", path, "'");
  return Status::OK();
}

}  // namespace

int AnalyzeMain(const std::vector<std::string>& args) {
  Args parser("analyze",
              "MODEL.onnx --calib-data DIR|LIST [--precision MODE] [--config CFG.json] [--calib-algo ALGO]\n"
              "                  [--eval-data DIR|LIST] [--max-samples N] [--no-isolated] [--json FILE] [--report DIR]",
              "Calibrates MODEL.onnx on --calib-data, builds it with the configuration and compares every\n"
              "tensor with the float32 build on --eval-data (default: the calibration samples): SQNR (dB),\n"
              "cosine, max-abs and relative L2 error, accumulated (everything upstream quantized as planned).\n"
              "Then, for every operator the plan does not run in float32, a build with only that operator\n"
              "quantized gives its isolated error and the network-output SQNR it alone causes; the operators\n"
              "are ranked by it, most harmful first. That costs one build and one pass over the data per\n"
              "operator (--no-isolated skips it). --report DIR writes DIR/index.html, one self-contained page:\n"
              "the error bars of every tensor, the plan graph coloured by precision and the time per operator\n"
              "of a profiled run (mixq tune --report adds the tuning trajectory).");
  parser.AddPositional("MODEL.onnx", "the ONNX model to analyse");
  parser.AddFlag("precision", "p", "MODE", "precision_mode, e.g. qint8_mixed_float32 (overrides --config)");
  parser.AddFlag("config", "c", "CFG.json", "builder configuration JSON (per-node overrides come from the network)");
  parser.AddFlag("input-shape", "", "NAME:DIMS", "fix an input's dims before import, e.g. x:1x3x224x224", true);
  parser.AddFlag("calib-data", "", "DIR|LIST", "calibration samples (.npy / .npz per sample, as for mixq build)");
  parser.AddFlag("calib-algo", "", "ALGO", "linear (default), eqnm, entropy, percentile or auto");
  parser.AddFlag("calib-percentile", "", "P", "the percentile for --calib-algo percentile or auto (default 99.99)");
  parser.AddFlag("eval-data", "", "DIR|LIST", "samples to measure on (default: the calibration samples)");
  parser.AddFlag("max-samples", "", "N", "use at most N samples of the measuring data");
  parser.AddSwitch("no-isolated", "only the accumulated errors (no build per operator)");
  parser.AddFlag("threads", "", "N", "threads per inference (default: every core)");
  parser.AddFlag("json", "", "FILE", "also write the analysis as JSON to FILE");
  parser.AddFlag("report", "", "DIR", "also write the HTML report DIR/index.html (DIR is created)");
  if (int code = ParseOrExit(&parser, "analyze", args); code >= 0) return code;
  if (!parser.Has("calib-data"))
    return Fail("analyze", InvalidArgument("--calib-data is required (the samples that give the ranges)"), kExitUsage);
  if (parser.Has("calib-algo")) {
    QuantizationAlgorithm algorithm;
    if (Status s = ParseAlgorithm(parser.Get("calib-algo"), &algorithm); !s.ok()) return Fail("analyze", s, kExitUsage);
  }
  AnalysisOptions options;
  options.isolated = !parser.Has("no-isolated");
  if (parser.Has("max-samples"))
    if (Status s = ParseInt(parser.Get("max-samples"), "--max-samples", 1, INT64_MAX, &options.max_samples); !s.ok())
      return Fail("analyze", s, kExitUsage);
  if (parser.Has("threads")) {
    int64_t threads = 0;
    if (Status s = ParseInt(parser.Get("threads"), "--threads", 1, 1024, &threads); !s.ok())
      return Fail("analyze", s, kExitUsage);
    options.num_threads = static_cast<int>(threads);
  }
  if (parser.Has("report")) {
    options.report.dir = parser.Get("report");
    options.report.title = std::filesystem::path(parser.Positional(0)).filename().string();
  }
  std::map<std::string, Dims> input_dims;
  if (Status s = ParseInputShapes(parser.GetAll("input-shape"), "input-shape", &input_dims); !s.ok())
    return Fail("analyze", s, kExitUsage);
  auto config = CreateIBuilderConfig();
  if (Status s = ConfigFromArgs(parser, config.get()); !s.ok()) return Fail("analyze", s, kExitUsage);

  auto network = CreateINetwork();
  if (Status s = ImportOnnx(parser.Positional(0), input_dims, network.get()); !s.ok()) return Fail("analyze", s);
  if (Status s = CalibrateFromArgs(parser, "analyze", network.get(), config.get()); !s.ok()) return Fail("analyze", s);
  {
    // The build's own warnings (clipping ranges) matter most here.
    auto builder = CreateIBuilder();
    if (!builder->BuildModel("analyze", network.get(), config.get())) return Fail("analyze", builder->GetLastStatus());
    for (const std::string& warning : builder->GetWarnings())
      std::fprintf(stderr, "mixq analyze: warning: %s\n", warning.c_str());
  }
  FileData data;
  if (Status s = data.Open(parser.Get("eval-data", parser.Get("calib-data")), network.get()); !s.ok())
    return Fail("analyze", s);
  ProgressBar bar("analysing", "builds");
  options.progress = [&bar](int64_t done, int64_t total, const std::string&) { bar.Update(done, total); };
  AccuracyAnalysis result;
  if (Status s = AnalyzeAccuracy(network.get(), config.get(), data.pointers, options, &result); !s.ok())
    return Fail("analyze", s);
  bar.Finish(StrCat(result.samples, " samples, ", result.ranking.size(), " operators isolated"));
  std::fputs(result.ToString().c_str(), stdout);
  if (parser.Has("json"))
    if (Status s = WriteText(parser.Get("json"), result.ToJson()); !s.ok()) return Fail("analyze", s);
  if (parser.Has("report"))
    std::fprintf(stderr, "mixq analyze: wrote %s\n",
                 (std::filesystem::path(options.report.dir) / "index.html").string().c_str());
  return 0;
}

}  // namespace mixq::cli
