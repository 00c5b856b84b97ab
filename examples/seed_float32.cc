// Runs the seed's network (without its quantized settings) in force_float32 on
// two input sizes and writes inputs, weights and outputs as .npy files, so an
// independent NumPy reference can check them (tests/python/test_seed_network.py).
// Usage: mixq_seed_float32 OUT_DIR
#include <cstdio>
#include <random>
#include <string>

#include "util/npy.h"
#include "mixq/mixq.h"
#include "seed_network.h"

using namespace mixq;

namespace {
int Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "mixq_seed_float32: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mixq_seed_float32 OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  examples::SeedWeights weights = examples::MakeSeedWeights(11);
  auto network = CreateINetwork();
  Status status = examples::BuildSeedNetworkFloat(network.get(), weights);
  if (!status.ok()) return Fail("building the network", status);
  auto config = CreateIBuilderConfig();
  status = config->ParseFromString(R"({"precision_config": {"precision_mode": "force_float32"}})");
  if (!status.ok()) return Fail("config", status);
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("seed_float32", network.get(), config.get());
  if (!model) return Fail("BuildModel", builder->GetLastStatus());
  auto engine = model->CreateIEngine();
  if (!engine) return Fail("CreateIEngine", model->GetLastStatus());
  auto context = engine->CreateIContext();
  WriteNpy(dir + "/filter.npy", DataType::FLOAT32, {16, 3, 3, 3}, weights.filter.data());
  WriteNpy(dir + "/bias.npy", DataType::FLOAT32, {16}, weights.bias.data());

  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  const std::vector<std::vector<int64_t>> sizes = {{1, 9, 11, 3}, {2, 16, 13, 3}};
  for (size_t k = 0; k < sizes.size(); ++k) {
    Dims dims(sizes[k]);
    std::vector<float> input(static_cast<size_t>(dims.GetElementCount()));
    for (auto& v : input) v = dist(rng);
    std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
    context->CreateInputTensors(&inputs);
    context->CreateOutputTensors(&outputs);
    inputs[0]->SetDimensions(dims);
    inputs[0]->SetData(input.data(), input.size() * sizeof(float));
    status = context->Enqueue(inputs, outputs);
    if (!status.ok()) return Fail("Enqueue", status);
    const std::string suffix = std::to_string(k) + ".npy";
    WriteNpy(dir + "/input_" + suffix, DataType::FLOAT32, sizes[k], input.data());
    WriteNpy(dir + "/output_" + suffix, DataType::FLOAT32, outputs[0]->GetDimensions().GetDims(),
             outputs[0]->GetData());
    std::printf("size %zu: input %s -> output %s\n", k, dims.ToString().c_str(),
                outputs[0]->GetDimensions().ToString().c_str());
  }
  return 0;
}
