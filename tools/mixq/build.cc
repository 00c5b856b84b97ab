// mixq build: ONNX model -> [calibration] -> .mixq model file.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "calib_data.h"
#include "cli.h"
#include "onnx_import.h"
#include "progress.h"
#include "util/status_util.h"

namespace mixq::cli {

Status ParseAlgorithm(const std::string& text, QuantizationAlgorithm* algorithm) {
  for (auto a : {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::EQNM, QuantizationAlgorithm::ENTROPY,
                 QuantizationAlgorithm::PERCENTILE, QuantizationAlgorithm::AUTO})
    if (text == QuantizationAlgorithmName(a)) {
      *algorithm = a;
      return Status::OK();
    }
  return InvalidArgument("--calib-algo '", text, "': expected linear, eqnm, entropy, percentile or auto");
}

Status CalibrateFromArgs(const Args& args, const std::string& verb, INetwork* network, IBuilderConfig* config) {
  std::vector<std::string> names;
  std::vector<DataType> types;
  for (int64_t i = 0; i < network->GetInputCount(); ++i) {
    names.push_back(network->GetInput(i)->GetTensorName());
    types.push_back(network->GetInput(i)->GetDataType());
  }
  CalibSamples samples;
  MIXQ_RETURN_IF_ERROR(samples.Open(args.Get("calib-data"), names, types));
  std::vector<std::unique_ptr<FileCalibData>> data;
  std::vector<CalibDataInterface*> pointers;
  for (size_t i = 0; i < names.size(); ++i) {
    data.push_back(std::make_unique<FileCalibData>(&samples, i));
    pointers.push_back(data.back().get());
  }
  auto calibrator = CreateICalibrator(pointers);
  QuantizationAlgorithm algorithm = QuantizationAlgorithm::LINEAR;
  MIXQ_RETURN_IF_ERROR(ParseAlgorithm(args.Get("calib-algo", "linear"), &algorithm));
  double percentile = 99.99;
  if (args.Has("calib-percentile"))
    MIXQ_RETURN_IF_ERROR(ParseDouble(args.Get("calib-percentile"), "--calib-percentile", &percentile));
  MIXQ_RETURN_IF_ERROR(calibrator->SetQuantizationAlgorithm(algorithm, percentile));
  // `mixq build` with linear ranges saves no statistics and needs no
  // histogram (its clipping warnings only apply to custom or hand-set
  // ranges, which it still reports): ranges only, the calibration's cost
  // over float inference 1.5x -> 1.2x on PP-OCRv4 rec (bench/RESULTS.md
  // stop 40). `mixq analyze` keeps them for its clipping figures.
  if (verb == "build" && algorithm == QuantizationAlgorithm::LINEAR)
    MIXQ_RETURN_IF_ERROR(calibrator->SetHistogramBins(0));
  ProgressBar bar("calibrating");
  // auto's output-aware search reports a second phase, counted in candidate builds from (0, total).
  std::unique_ptr<ProgressBar> search;
  int64_t builds = 0;
  calibrator->SetProgressCallback([&](int64_t done, int64_t total) {
    if (done == 0 && !search) {
      bar.Finish(StrCat(samples.Count(), " samples"));
      search = std::make_unique<ProgressBar>("auto: output-aware search", "candidate builds at most");
    }
    builds = done;
    (search ? *search : bar).Update(done, total);
  });
  MIXQ_RETURN_IF_ERROR(WithContext(calibrator->Calibrate(network, config), "calibration"));
  for (const std::string& warning : calibrator->GetWarnings())
    std::fprintf(stderr, "mixq %s: warning: calibration: %s\n", verb.c_str(), warning.c_str());
  if (search)
    search->Finish(StrCat(builds, " candidate builds"));
  else
    bar.Finish(StrCat(samples.Count(), " samples, ", QuantizationAlgorithmName(algorithm)));
  return Status::OK();
}

Status ConfigFromArgs(const Args& args, IBuilderConfig* config) {
  if (args.Has("config")) MIXQ_RETURN_IF_ERROR(WithContext(config->ParseFromFile(args.Get("config")), "--config"));
  if (!args.Has("precision")) return Status::OK();
  // The mode goes through the config's own JSON parser, so an unknown mode
  // gets the same message as in a config file.
  const std::string mode = args.Get("precision");
  for (char c : mode)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return InvalidArgument("--precision '", mode, "' is not a precision mode");
  return WithContext(config->ParseFromString(StrCat(R"({"precision_config": {"precision_mode": ")", mode, "\"}}")),
                     "--precision");
}

int BuildMain(const std::vector<std::string>& args) {
  Args parser("build",
              "MODEL.onnx -o OUT.mixq [--precision MODE] [--config CFG.json] [--input-shape NAME:DIMS ...]\n"
              "                  [--calib-data DIR|LIST] [--calib-algo ALGO] [--calib-percentile P]",
              "Imports an ONNX model, calibrates it on sample data when --calib-data is given, builds it\n"
              "with the builder configuration and writes the model file. A quantized precision mode needs\n"
              "ranges for the quantized activations: from --calib-data, from custom_ranges in --config,\n"
              "or activation_quant_mode \"dynamic\" in --config.");
  parser.AddPositional("MODEL.onnx", "the ONNX model to import");
  parser.AddFlag("output", "o", "OUT.mixq", "the model file to write (required)");
  parser.AddFlag("precision", "p", "MODE",
                 "precision_mode: force_float32 (default), force_float16, force_bfloat16, qint8_mixed_float32,\n"
                 "      qint8_mixed_float16, qint16_mixed_float32, qint16_mixed_float16 (overrides --config)");
  parser.AddFlag("config", "c", "CFG.json", "builder configuration JSON, e.g. {\"precision_config\": {...}}");
  parser.AddFlag("input-shape", "", "NAME:DIMS", "fix an input's dims before import, e.g. x:1x3x224x224", true);
  parser.AddFlag("calib-data", "", "DIR|LIST",
                 "calibration samples: a folder of .npy / .npz files (one file per sample; .npz with\n"
                 "      one array per input name for several inputs) or a text file listing such files");
  parser.AddFlag("calib-algo", "", "ALGO",
                 "linear (default), eqnm, entropy, percentile or auto (per tensor, docs/accuracy.md)");
  parser.AddFlag("calib-percentile", "", "P", "the percentile for --calib-algo percentile or auto (default 99.99)");
  parser.AddFlag("name", "", "NAME", "the model's name (default: the ONNX file's name without extension)");
  if (int code = ParseOrExit(&parser, "build", args); code >= 0) return code;
  if (!parser.Has("output")) return Fail("build", InvalidArgument("-o OUT.mixq is required"), kExitUsage);
  if (!parser.Has("calib-data") && (parser.Has("calib-algo") || parser.Has("calib-percentile")))
    return Fail("build", InvalidArgument("--calib-algo / --calib-percentile need --calib-data"), kExitUsage);
  if (parser.Has("calib-algo")) {
    QuantizationAlgorithm algorithm;
    if (Status s = ParseAlgorithm(parser.Get("calib-algo"), &algorithm); !s.ok()) return Fail("build", s, kExitUsage);
  }
  if (parser.Has("calib-percentile") && parser.Get("calib-algo", "linear") != "percentile" &&
      parser.Get("calib-algo") != "auto")
    std::fprintf(stderr,
                 "mixq build: warning: --calib-percentile is ignored: --calib-algo is %s, not percentile or auto\n",
                 parser.Get("calib-algo", "linear").c_str());
  std::map<std::string, Dims> input_dims;
  if (Status s = ParseInputShapes(parser.GetAll("input-shape"), "input-shape", &input_dims); !s.ok())
    return Fail("build", s, kExitUsage);

  auto config = CreateIBuilderConfig();
  if (Status s = ConfigFromArgs(parser, config.get()); !s.ok()) return Fail("build", s, kExitUsage);

  const std::string onnx_path = parser.Positional(0);
  auto network = CreateINetwork();
  if (Status s = ImportOnnx(onnx_path, input_dims, network.get()); !s.ok()) return Fail("build", s);
  if (parser.Has("calib-data"))
    if (Status s = CalibrateFromArgs(parser, "build", network.get(), config.get()); !s.ok()) return Fail("build", s);

  auto builder = CreateIBuilder();
  const std::string name = parser.Get("name", std::filesystem::path(onnx_path).stem().string());
  std::unique_ptr<IModel> model = builder->BuildModel(name, network.get(), config.get());
  if (!model) return Fail("build", builder->GetLastStatus());
  for (const std::string& warning : builder->GetWarnings())
    std::fprintf(stderr, "mixq build: warning: %s\n", warning.c_str());
  if (Status s = model->SerializeToFile(parser.Get("output")); !s.ok()) return Fail("build", s);
  std::printf("wrote %s: %lld inputs, %lld outputs, %lld bytes of weights\n", parser.Get("output").c_str(),
              static_cast<long long>(model->GetInputNum()), static_cast<long long>(model->GetOutputNum()),
              static_cast<long long>(model->GetWeightBytes()));
  return 0;
}

}  // namespace mixq::cli
