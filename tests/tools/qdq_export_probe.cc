// Test helper for tests/python/test_qdq_export.py: builds a network through
// the public API, calibrates it, builds it in a precision mode, exports the
// model to ONNX (QDQ) and runs it in mixq on a fixed batch.
//
//   mixq_qdq_export_probe NETWORK MODE DIR
//     NETWORK: resnet (NHWC convolutions, BN, residual, Gemm) or attention
//              (MatMuls with weights and between activations, LayerNorm)
//     writes DIR/model.onnx, DIR/input.npy and DIR/<output name>.npy
#include <cmath>
#include <cstdio>
#include <random>

#include "../../examples/random_images.h"
#include "../../examples/small_resnet.h"
#include "mixq/calibrator.h"
#include "mixq/mixq.h"
#include "mixq/onnx_export.h"
#include "util/npy.h"

namespace mixq {
namespace {

ITensor* Const(INetwork* n, const Dims& dims, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(static_cast<size_t>(dims.GetElementCount()));
  for (float& x : v) x = dist(rng);
  return n->AddIConstNode(DataType::FLOAT32, dims, v.data())->GetOutput(0);
}

Status BuildAttention(INetwork* n) {
  constexpr int64_t kTokens = 6, kModel = 16;
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({-1, kTokens, kModel}));
  x->SetTensorName("tokens");
  const float w = 2.0f / std::sqrt(static_cast<float>(kModel));
  ITensor* q = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 1, w))->GetOutput(0);
  ITensor* k = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 2, w))->GetOutput(0);
  IMatMulNode* v_node = n->AddIMatMulNode(x, Const(n, Dims({kModel, kModel}), 3, w));
  v_node->SetTransposeB(true);  // weights stored [out, in]
  IMatMulNode* scores = n->AddIMatMulNode(q, k);
  scores->SetTransposeB(true);
  const float inv = 0.25f;
  ITensor* scaled =
      n->AddIElementwiseNode(scores->GetOutput(0), n->AddIConstNode(DataType::FLOAT32, Dims({1}), &inv)->GetOutput(0),
                             ElementwiseOp::MUL)
          ->GetOutput(0);
  ITensor* probs = n->AddISoftmaxNode(scaled, -1)->GetOutput(0);
  ITensor* attended = n->AddIMatMulNode(probs, v_node->GetOutput(0))->GetOutput(0);
  ITensor* out = n->AddIElementwiseNode(attended, x, ElementwiseOp::ADD)->GetOutput(0);
  out->SetTensorName("residual");
  n->MarkOutput(out);
  ILayerNormNode* norm =
      n->AddILayerNormNode(out, Const(n, Dims({kModel}), 5, 1.0f), Const(n, Dims({kModel}), 6, 0.1f), -1);
  norm->GetOutput(0)->SetTensorName("normalized");
  return n->MarkOutput(norm->GetOutput(0));
}

Status Run(const std::string& which, const std::string& mode, const std::string& dir) {
  auto network = CreateINetwork();
  Dims sample_dims;
  if (which == "resnet") {
    Status s = examples::BuildSmallResNet(network.get());
    if (!s.ok()) return s;
    for (INode* node : network->GetAllNodes())  // the logits too
      if (node->GetOpType() == "FullyConnected") {
        node->GetOutput(0)->SetTensorName("logits");
        network->MarkOutput(node->GetOutput(0));
      }
    sample_dims = Dims({2, 16, 16, 3});
  } else if (which == "attention") {
    Status s = BuildAttention(network.get());
    if (!s.ok()) return s;
    sample_dims = Dims({2, 6, 16});
  } else {
    return Status(StatusCode::INVALID_ARGUMENT, "unknown network " + which);
  }
  // "MODE:dynamic" asks for dynamic activation quantization (no calibration).
  const bool dynamic = mode.ends_with(":dynamic");
  const std::string precision = dynamic ? mode.substr(0, mode.size() - 8) : mode;
  auto config = CreateIBuilderConfig();
  Status s = config->ParseFromString(R"({"precision_config": {"precision_mode": ")" + precision + "\", " +
                                     "\"activation_quant_mode\": \"" + (dynamic ? "dynamic" : "static") + "\"}}");
  if (!s.ok()) return s;
  if (precision.starts_with("qint") && !dynamic) {
    examples::RandomImages samples(sample_dims, 24, 3);
    auto calibrator = CreateICalibrator(&samples);
    s = calibrator->Calibrate(network.get(), config.get());
    if (!s.ok()) return s;
  }
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel(which, network.get(), config.get());
  if (!model) return builder->GetLastStatus();
  std::printf("%s", model->GetPrecisionReport().c_str());
  s = ExportToOnnx(*model, dir + "/model.onnx");
  if (!s.ok()) return s;

  examples::RandomImages test(sample_dims, 1, 99);
  test.Next();
  std::vector<float> input(static_cast<float*>(test.GetSample()),
                           static_cast<float*>(test.GetSample()) + sample_dims.GetElementCount());
  s = WriteNpy(dir + "/input.npy", DataType::FLOAT32, sample_dims.GetDims(), input.data());
  if (!s.ok()) return s;
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  context->CreateInputTensors(&inputs);
  context->CreateOutputTensors(&outputs);
  inputs[0]->SetDimensions(sample_dims);
  inputs[0]->SetData(input.data(), input.size() * sizeof(float));
  s = context->Enqueue(inputs, outputs);
  if (!s.ok()) return s;
  for (auto& out : outputs) {
    s = WriteNpy(dir + "/" + out->GetName() + ".npy", out->GetDataType(), out->GetDimensions().GetDims(),
                 out->GetData());
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace
}  // namespace mixq

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: mixq_qdq_export_probe resnet|attention MODE DIR\n");
    return 2;
  }
  mixq::Status s = mixq::Run(argv[1], argv[2], argv[3]);
  if (!s.ok()) {
    std::fprintf(stderr, "mixq_qdq_export_probe: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
