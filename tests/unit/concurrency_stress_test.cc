// Concurrency stress (issue 14, item 2): one engine per precision mode, 8
// threads, each with its own context, many runs each on mixed input shapes,
// with the fast kernels and with force_reference. Every output must be
// bit-identical to the single-threaded result for that shape, which also shows
// that nothing the engine shares (packed weights, plans) is written after
// preparation. Public API only: the small ResNet of examples/, loaded from
// its model file's bytes.
//
// Runs per thread: MIXQ_STRESS_RUNS (default 12, which keeps CI and the
// ThreadSanitizer run short); the issue's full figure is MIXQ_STRESS_RUNS=1000.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "mixq/mixq.h"

namespace mixq {
namespace {

constexpr int kThreads = 8;
const int64_t kBatches[] = {1, 3, 2};  // mixed input shapes [N, 16, 16, 3]

int RunsPerThread() {
  const char* env = std::getenv("MIXQ_STRESS_RUNS");
  const int runs = env ? std::atoi(env) : 12;
  return runs > 0 ? runs : 12;
}

std::vector<float> Image(int64_t batch, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(batch * 16 * 16 * 3));
  uint32_t state = seed * 2654435761u + 1;
  for (auto& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / 8388608.0f - 1.0f;  // [-1, 1)
  }
  return v;
}

struct Mode {
  const char* name;
  std::string config;
  bool calibrate;
};

std::vector<Mode> Modes() {
  auto cfg = [](const std::string& mode, const std::string& extra = "") {
    return R"({"precision_config": {"precision_mode": ")" + mode + "\"" + extra + "}}";
  };
  return {
      {"force_float32", cfg("force_float32"), false},
      {"force_float16", cfg("force_float16"), false},
      {"qint8_mixed_float32", cfg("qint8_mixed_float32"), true},
      {"qint8_mixed_float16", cfg("qint8_mixed_float16"), true},
      {"qint16_mixed_float32", cfg("qint16_mixed_float32"), true},
      {"qint16_mixed_float16", cfg("qint16_mixed_float16"), true},
      {"qint8_dynamic_asymmetric",
       cfg("qint8_mixed_float32", R"(, "activation_quant_mode": "dynamic", "activation_quant_algo": "asymmetric")"),
       false},
  };
}

// gtest prints the parameter by name (not as raw bytes) in test lists.
void PrintTo(const Mode& mode, std::ostream* os) {
  *os << mode.name;
}

// The output bytes of one run; empty (and a test failure) on error.
std::vector<uint8_t> RunOnce(IContext* context, int64_t batch, const std::vector<float>& image) {
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  if (!context->CreateInputTensors(&inputs).ok() || !context->CreateOutputTensors(&outputs).ok()) return {};
  if (!inputs[0]->SetDimensions(Dims({batch, 16, 16, 3})).ok()) return {};
  if (!inputs[0]->SetData(const_cast<float*>(image.data()), image.size() * sizeof(float)).ok()) return {};
  Status s = context->Enqueue(inputs, outputs);
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    return {};
  }
  const auto* data = static_cast<const uint8_t*>(outputs[0]->GetData());
  return std::vector<uint8_t>(data, data + outputs[0]->GetSize());
}

class ConcurrencyStress : public ::testing::TestWithParam<Mode> {};

TEST_P(ConcurrencyStress, EightThreadsAreBitIdenticalToOneThread) {
  const Mode& mode = GetParam();
  auto network = CreateINetwork();
  ASSERT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(mode.config).ok());
  if (mode.calibrate) {
    examples::RandomImages images(Dims({2, 16, 16, 3}), 4, 11);
    auto calibrator = CreateICalibrator(&images);
    Status s = calibrator->Calibrate(network.get(), config.get());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  auto builder = CreateIBuilder();
  auto built = builder->BuildModel("stress", network.get(), config.get());
  ASSERT_NE(built, nullptr) << builder->GetLastStatus().ToString();
  // Through a model file's bytes, as deployed: float16 weights stay narrow
  // and the contexts widen and pin them concurrently (ir::Buffer::Pin).
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(built->SerializeToMemory(&bytes).ok());
  auto model = CreateIModel();
  ASSERT_TRUE(model->DeserializeFromMemory(bytes.data(), bytes.size()).ok());
  auto engine = model->CreateIEngine();
  ASSERT_NE(engine, nullptr);

  std::vector<std::vector<float>> images;
  for (size_t i = 0; i < std::size(kBatches); ++i) images.push_back(Image(kBatches[i], static_cast<uint32_t>(i)));
  const int runs = RunsPerThread();
  for (bool force_reference : {false, true}) {
    ContextOptions options;
    options.force_reference = force_reference;
    // Single-threaded results, one fresh context per shape.
    std::vector<std::vector<uint8_t>> expected;
    for (size_t i = 0; i < images.size(); ++i) {
      auto context = engine->CreateIContext(options);
      expected.push_back(RunOnce(context.get(), kBatches[i], images[i]));
      ASSERT_FALSE(expected.back().empty());
    }
    std::atomic<int> mismatches{0}, done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto context = engine->CreateIContext(options);
        for (int r = 0; r < runs; ++r) {
          const size_t shape = static_cast<size_t>(r + t) % images.size();
          const std::vector<uint8_t> got = RunOnce(context.get(), kBatches[shape], images[shape]);
          if (got != expected[shape]) ++mismatches;
          ++done;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(done.load(), kThreads * runs);
    EXPECT_EQ(mismatches.load(), 0) << mode.name << (force_reference ? " (force_reference)" : " (fast kernels)");
  }
}

INSTANTIATE_TEST_SUITE_P(AllPrecisionModes, ConcurrencyStress, ::testing::ValuesIn(Modes()),
                         [](const ::testing::TestParamInfo<Mode>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mixq
