// Calibration against plain float inference on a real ONNX model and real
// samples (issue 10 item 7: calibration at inference speed, target <= 1.15x).
//
//   build/bench/mixq_calibration_onnx_bench MODEL.onnx SAMPLES_DIR [PRECISION] [REPS] [STATS_OUT]
//
// SAMPLES_DIR holds one float32 .npy per sample of the model's single input
// (tests/models/make_data.py --npy writes them; the input's dims come from
// the first sample). Every sample is loaded into memory first, so file reads
// are not timed. Each repetition runs, in turn (so load from other processes
// hits all alike): the float32 build over every sample; Calibrate
// (PRECISION, default qint8_mixed_float32: RunCalibration, then the ranges
// derived once) over the same samples; RunCalibration alone observing in
// place; RunCalibration alone with every observed tensor an extra network
// output copied out after each run (the path before the step observer,
// CalibrationRun::observe_as_outputs); Calibrate with ranges only (0
// histogram bins, as `mixq build` runs linear). Prints each repetition, then the
// minimum of each and its ratio to the float minimum.
// Threads: OMP_NUM_THREADS (both runs use the default context options).
// STATS_OUT: write the last calibration's statistics file there (to compare
// two builds byte for byte). REPS 0: calibrate once, no float runs; REPS -N:
// N float runs only (for perf). KINDS=0,4 (environment): run only those
// columns (0 float ... 4 ranges only), e.g. one kind under perf.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "api/builder_config.h"
#include "api/network_impl.h"
#include "calibration/calib_runner.h"
#include "mixq/mixq.h"
#include "util/npy.h"

namespace mixq {
namespace {

struct Sample {
  Dims dims;
  std::vector<float> values;
};

class Samples : public CalibDataInterface {
 public:
  explicit Samples(const std::vector<Sample>* samples) : samples_(samples) {}
  Dims GetShape() override { return Current().dims; }
  DataType GetDataType() override { return DataType::FLOAT32; }
  Status Next() override {
    if (index_ + 1 >= static_cast<int64_t>(samples_->size())) return Status(StatusCode::OUT_OF_RANGE, "end");
    ++index_;
    return Status::OK();
  }
  Status Reset() override {
    index_ = -1;
    return Status::OK();
  }
  void* GetSample() override { return const_cast<float*>(Current().values.data()); }
  int64_t GetSampleCount() override { return static_cast<int64_t>(samples_->size()); }

 private:
  const Sample& Current() const { return samples_->at(static_cast<size_t>(index_ < 0 ? 0 : index_)); }
  const std::vector<Sample>* samples_;
  int64_t index_ = -1;
};

Status LoadSamples(const std::string& dir, std::vector<Sample>* samples) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".npy") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    NpyArray array;
    Status status = ReadNpy(file, &array);
    if (!status.ok()) return status;
    if (array.dtype != DataType::FLOAT32) return Status(StatusCode::INVALID_ARGUMENT, file + ": not float32");
    Sample sample{Dims(array.shape), std::vector<float>(array.bytes.size() / sizeof(float))};
    std::copy(array.bytes.begin(), array.bytes.end(), reinterpret_cast<uint8_t*>(sample.values.data()));
    samples->push_back(std::move(sample));
  }
  if (samples->empty()) return Status(StatusCode::INVALID_ARGUMENT, dir + ": no .npy file");
  return Status::OK();
}

Status Import(const std::string& onnx, const Dims& dims, std::unique_ptr<INetwork>* network) {
  *network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  // The input's name is only known after a first parse.
  auto probe = CreateINetwork();
  Status status = parser->Parse(probe.get(), onnx);
  if (!status.ok()) return status;
  parser = CreateIParser(ModelKind::kOnnx);
  status = parser->SetInputShape(probe->GetInput(0)->GetTensorName(), dims);
  if (!status.ok()) return status;
  return parser->Parse(network->get(), onnx);
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx SAMPLES_DIR [PRECISION] [REPS] [STATS_OUT]\n", argv[0]);
    return 2;
  }
  const std::string precision = argc > 3 ? argv[3] : "qint8_mixed_float32";
  const int reps = argc > 4 ? std::atoi(argv[4]) : 5;
  std::vector<Sample> samples;
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return 1;
  };
  if (Status s = LoadSamples(argv[2], &samples); !s.ok()) return fail(s);
  std::unique_ptr<INetwork> network;
  if (Status s = Import(argv[1], samples[0].dims, &network); !s.ok()) return fail(s);

  auto builder = CreateIBuilder();
  auto float_model = builder->BuildModel("float", network.get(), nullptr);
  if (!float_model) return fail(builder->GetLastStatus());
  auto engine = float_model->CreateIEngine();
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  if (Status s = context->CreateInputTensors(&inputs); !s.ok()) return fail(s);
  if (Status s = context->CreateOutputTensors(&outputs); !s.ok()) return fail(s);
  auto run_float = [&]() -> Status {
    for (Sample& sample : samples) {
      Status s = inputs[0]->SetDimensions(sample.dims);
      if (s.ok()) s = inputs[0]->SetData(sample.values.data(), sample.values.size() * sizeof(float));
      if (s.ok()) s = context->Enqueue(inputs, outputs);
      if (!s.ok()) return s;
    }
    return Status::OK();
  };

  auto config = CreateIBuilderConfig();
  if (Status s = config->ParseFromString(R"({"precision_config": {"precision_mode": ")" + precision + "\"}}"); !s.ok())
    return fail(s);
  Samples data(&samples);
  auto calibrator = CreateICalibrator(&data);
  // The same with ranges only (0 histogram bins: what `mixq build` uses for linear).
  auto ranges_only = CreateICalibrator(&data);
  if (Status s = ranges_only->SetHistogramBins(0); !s.ok()) return fail(s);

  if (Status s = run_float(); !s.ok()) return fail(s);  // warm-up: page faults, packed weights
  for (int r = 0; r < -reps; ++r)
    if (Status s = run_float(); !s.ok()) return fail(s);
  if (reps < 0) return 0;
  // RunCalibration alone (what Calibrate runs before deriving the ranges),
  // observing in place or through extra outputs (the path before the step
  // observer), through the internal entry point the calibrator calls.
  auto run_calibration = [&](bool as_outputs) -> Status {
    quant::CalibrationRun run;
    run.data = {&data};
    run.observe_as_outputs = as_outputs;
    quant::CalibrationState state;
    return quant::RunCalibration(api::ToImpl(network.get())->graph(),
                                 dynamic_cast<api::BuilderConfigImpl*>(config.get())->options(), run, &state);
  };
  // float, Calibrate, RunCalibration in place, RunCalibration via outputs, Calibrate with ranges only
  constexpr int kKinds = 5;
  const char* kinds[kKinds] = {"float", "Calibrate", "in place", "via outputs", "ranges only"};
  double best[kKinds];
  std::fill(best, best + kKinds, std::numeric_limits<double>::infinity());
  bool wanted[kKinds] = {true, true, true, true, true};
  if (const char* only = std::getenv("KINDS"); only && *only) {
    std::fill(wanted, wanted + kKinds, false);
    for (const char* c = only; *c; ++c)
      if (*c >= '0' && *c < '0' + kKinds) wanted[*c - '0'] = true;
  }
  for (int r = 0; r < std::max(reps, 1); ++r) {
    double seconds[kKinds] = {0, 0, 0, 0, 0};
    for (int k = 0; k < kKinds; ++k) {
      if ((reps == 0 && k != 1) || !wanted[k]) continue;
      const auto t0 = std::chrono::steady_clock::now();
      const Status s = k == 0   ? run_float()
                       : k == 1 ? calibrator->Calibrate(network.get(), config.get())
                       : k == 4 ? ranges_only->Calibrate(network.get(), config.get())
                                : run_calibration(k == 3);
      if (!s.ok()) return fail(s);
      seconds[k] = Seconds(t0);
      best[k] = std::min(best[k], seconds[k]);
    }
    std::printf("rep %d:", r);
    for (int k = 0; k < kKinds; ++k)
      if (wanted[k]) std::printf(" %s %.3f s,", kinds[k], seconds[k]);
    std::printf("\n");
  }
  std::printf("%zu samples, minima:", samples.size());
  for (int k = 0; k < kKinds; ++k)
    if (wanted[k]) std::printf(" %s %.3f s (%.3fx),", kinds[k], best[k], best[k] / best[0]);
  std::printf("\n");
  if (argc > 5)
    if (Status s = calibrator->SaveStatistics(network.get(), argv[5]); !s.ok()) return fail(s);
  return 0;
}

}  // namespace
}  // namespace mixq

int main(int argc, char** argv) {
  return mixq::Main(argc, argv);
}
