// A minimal application on the installed mixq SDK: builds y = relu(W x + b)
// through the public API, runs it, and checks the result against the same
// arithmetic done here. Exit code 0 only if every value matches.
#include <mixq/mixq.h>
#include <mixq/version.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

using namespace mixq;

int main() {
  const std::vector<float> weight = {1, -2, 3, 0.5f, -1, 1, -1, 1, 0.25f, 0.25f, 0.25f, 0.25f};  // [3, 4]
  const std::vector<float> bias = {0.5f, -0.5f, -3};
  std::vector<float> x = {1, 2, 3, 4};  // [1, 4]

  auto network = CreateINetwork();
  ITensor* input = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  ITensor* w = network->AddIConstNode(DataType::FLOAT32, Dims({3, 4}), weight.data())->GetOutput(0);
  ITensor* b = network->AddIConstNode(DataType::FLOAT32, Dims({3}), bias.data())->GetOutput(0);
  IFullyConnectedNode* fc = network->AddIFullyConnectedNode(input, w, b);
  IActivationNode* relu = network->AddIActivationNode(fc->GetOutput(0), ActivationType::RELU);
  if (Status s = network->MarkOutput(relu->GetOutput(0)); !s.ok()) {
    std::fprintf(stderr, "network: %s\n", s.ToString().c_str());
    return 1;
  }
  auto builder = CreateIBuilder();
  std::unique_ptr<IModel> model = builder->BuildModel("sdk_example", network.get(), nullptr);
  if (!model) {
    std::fprintf(stderr, "build: %s\n", builder->GetLastStatus().ToString().c_str());
    return 1;
  }
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  context->CreateInputTensors(&inputs);
  context->CreateOutputTensors(&outputs);
  inputs[0]->SetDimensions(Dims({1, 4}));
  inputs[0]->SetData(x.data(), x.size() * sizeof(float));
  if (Status s = context->Enqueue(inputs, outputs); !s.ok()) {
    std::fprintf(stderr, "run: %s\n", s.ToString().c_str());
    return 1;
  }
  const float* y = static_cast<const float*>(outputs[0]->GetData());
  int mismatches = 0;
  for (int o = 0; o < 3; ++o) {
    float want = bias[o];
    for (int i = 0; i < 4; ++i) want += weight[o * 4 + i] * x[i];
    want = want > 0 ? want : 0;
    std::printf("y[%d] = %g (expected %g)\n", o, y[o], want);
    if (std::fabs(y[o] - want) > 1e-5f) ++mismatches;
  }
  std::printf("mixq %s (headers %s): %s\n", kVersionString, MIXQ_VERSION_STRING, mismatches ? "MISMATCH" : "ok");
  return mismatches ? 1 : 0;
}
