// Calibration throughput against plain float inference on the same network
// and samples: the small ResNet over 32 samples of 8 images (256 images).
// Calibrate runs the float network too, so the difference is what the
// observers (histograms on every quantized activation), the extra outputs
// that hand them over and the one-off float build cost. Target: < 15 %.
//
//   build/bench/mixq_calibration_bench --benchmark_repetitions=3
// prints both timings, then BM_CalibrationOverhead's "overhead" counter:
// calibration time / float inference time - 1, the two runs alternating.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <vector>

#include "../examples/small_resnet.h"
#include "../tests/unit/calib_test_util.h"

#define MIXQ_BENCH_CHECK(expr)             \
  do {                                     \
    const ::mixq::Status status_ = (expr); \
    if (!status_.ok()) return status_;     \
  } while (0)

namespace mixq {
namespace {

constexpr int kSamples = 32;
constexpr int64_t kBatch = 8;

const std::vector<testing::VectorCalibData::Sample>& Samples() {
  static const auto samples = testing::ImageSamples(kSamples, kBatch, 11);
  return samples;
}

// Plain float inference: the float32 model over every sample.
class FloatRunner {
 public:
  Status Init() {
    network_ = CreateINetwork();
    MIXQ_BENCH_CHECK(examples::BuildSmallResNet(network_.get()));
    auto builder = CreateIBuilder();
    model_ = builder->BuildModel("float", network_.get(), nullptr);
    if (!model_) return builder->GetLastStatus();
    engine_ = model_->CreateIEngine();
    context_ = engine_->CreateIContext();
    MIXQ_BENCH_CHECK(context_->CreateInputTensors(&inputs_));
    return context_->CreateOutputTensors(&outputs_);
  }
  Status Run(std::vector<testing::VectorCalibData::Sample>& samples) {
    for (auto& sample : samples) {
      MIXQ_BENCH_CHECK(inputs_[0]->SetDimensions(sample.dims));
      MIXQ_BENCH_CHECK(inputs_[0]->SetData(sample.values.data(), sample.values.size() * sizeof(float)));
      MIXQ_BENCH_CHECK(context_->Enqueue(inputs_, outputs_));
    }
    return Status::OK();
  }

 private:
  std::unique_ptr<INetwork> network_;
  std::unique_ptr<IModel> model_;
  std::unique_ptr<IEngine> engine_;
  std::unique_ptr<IContext> context_;
  std::vector<std::unique_ptr<IRTTensor>> inputs_, outputs_;
};

// Calibration of the same network over the same samples (qint8_mixed_float32:
// 6 observed activations).
class Calibration {
 public:
  Status Init() {
    network_ = CreateINetwork();
    MIXQ_BENCH_CHECK(examples::BuildSmallResNet(network_.get()));
    config_ = CreateIBuilderConfig();
    MIXQ_BENCH_CHECK(config_->ParseFromString(testing::kQint8MixedFloat32));
    calibrator_ = CreateICalibrator(&data_);
    return Status::OK();
  }
  Status Run() { return calibrator_->Calibrate(network_.get(), config_.get()); }

 private:
  testing::VectorCalibData data_{Samples()};
  std::unique_ptr<INetwork> network_;
  std::unique_ptr<IBuilderConfig> config_;
  std::unique_ptr<ICalibrator> calibrator_;
};

void BM_FloatInference(benchmark::State& state) {
  FloatRunner runner;
  auto samples = Samples();
  if (Status s = runner.Init(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  for (auto _ : state)
    if (Status s = runner.Run(samples); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  state.SetItemsProcessed(state.iterations() * kSamples * kBatch);
}

void BM_Calibration(benchmark::State& state) {
  Calibration calibration;
  if (Status s = calibration.Init(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  for (auto _ : state)
    if (Status s = calibration.Run(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  state.SetItemsProcessed(state.iterations() * kSamples * kBatch);
}

// Both, alternating within each iteration, so load from other processes on a
// shared machine hits them alike; reports overhead = calibration / float - 1.
void BM_CalibrationOverhead(benchmark::State& state) {
  FloatRunner runner;
  Calibration calibration;
  auto samples = Samples();
  if (Status s = runner.Init(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  if (Status s = calibration.Init(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  double float_seconds = 0, calibration_seconds = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (Status s = runner.Run(samples); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    const auto t1 = Clock::now();
    if (Status s = calibration.Run(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    const auto t2 = Clock::now();
    float_seconds += std::chrono::duration<double>(t1 - t0).count();
    calibration_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["float_ms"] = 1e3 * float_seconds / n;
  state.counters["calibration_ms"] = 1e3 * calibration_seconds / n;
  state.counters["overhead"] = calibration_seconds / float_seconds - 1.0;
}

}  // namespace
}  // namespace mixq

BENCHMARK(mixq::BM_FloatInference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(mixq::BM_Calibration)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(mixq::BM_CalibrationOverhead)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_MAIN();
