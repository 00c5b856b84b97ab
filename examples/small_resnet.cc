#include "small_resnet.h"

#include <cmath>
#include <random>
#include <vector>

namespace mixq::examples {

namespace {

class Builder {
 public:
  Builder(INetwork* network, uint32_t seed) : net_(network), rng_(seed) {}

  ITensor* Const(const std::vector<int64_t>& dims, std::vector<float> values) {
    IConstNode* node = net_->AddIConstNode(DataType::FLOAT32, Dims(dims), values.data());
    return node ? node->GetOutput(0) : nullptr;
  }
  std::vector<float> Normal(size_t n, float stddev, float mean = 0.0f) {
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng_);
    return v;
  }
  std::vector<float> Uniform(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng_);
    return v;
  }

  // conv (OHWI filter, He init) + batch norm, optionally followed by relu.
  ITensor* ConvBn(ITensor* x, int64_t in, int64_t out, int64_t k, int64_t stride, bool relu) {
    const size_t n = static_cast<size_t>(out * k * k * in);
    ITensor* filter = Const({out, k, k, in}, Normal(n, std::sqrt(2.0f / static_cast<float>(k * k * in))));
    ITensor* bias = Const({out}, Normal(static_cast<size_t>(out), 0.05f));
    IConvNode* conv = net_->AddIConvNode(x, filter, bias);
    if (!conv) return nullptr;
    conv->SetStride(stride, stride);
    conv->SetPad(k / 2, k / 2, k / 2, k / 2);
    const size_t c = static_cast<size_t>(out);
    IBatchNormNode* bn = net_->AddIBatchNormNode(conv->GetOutput(0), Const({out}, Normal(c, 0.1f)),
                                                 Const({out}, Uniform(c, 0.5f, 1.5f)),
                                                 Const({out}, Uniform(c, 0.5f, 1.5f)), Const({out}, Normal(c, 0.1f)));
    if (!bn) return nullptr;
    if (!relu) return bn->GetOutput(0);
    IActivationNode* act = net_->AddIActivationNode(bn->GetOutput(0), ActivationType::RELU);
    return act ? act->GetOutput(0) : nullptr;
  }

  ITensor* AddRelu(ITensor* a, ITensor* b) {
    IElementwiseNode* add = net_->AddIElementwiseNode(a, b, ElementwiseOp::ADD);
    if (!add) return nullptr;
    IActivationNode* act = net_->AddIActivationNode(add->GetOutput(0), ActivationType::RELU);
    return act ? act->GetOutput(0) : nullptr;
  }

  INetwork* net_;
  std::mt19937 rng_;
};

}  // namespace

Status BuildSmallResNet(INetwork* network, uint32_t seed) {
  if (!network) return Status(StatusCode::INVALID_ARGUMENT, "BuildSmallResNet: network is null");
  Builder b(network, seed);
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({-1, 16, 16, 3}));
  x->SetTensorName("image");
  ITensor* stem = b.ConvBn(x, 3, 8, 3, 1, true);
  // Identity block.
  ITensor* y = b.ConvBn(stem, 8, 8, 3, 1, true);
  y = b.ConvBn(y, 8, 8, 3, 1, false);
  ITensor* block1 = b.AddRelu(y, stem);
  // Strided block with a 1x1 projection shortcut.
  ITensor* z = b.ConvBn(block1, 8, 16, 3, 2, true);
  z = b.ConvBn(z, 16, 16, 3, 1, false);
  ITensor* shortcut = b.ConvBn(block1, 8, 16, 1, 2, false);
  ITensor* block2 = b.AddRelu(z, shortcut);
  if (!block2) return network->GetLastStatus();
  IGlobalAvgPoolNode* pool = network->AddIGlobalAvgPoolNode(block2);
  if (!pool) return network->GetLastStatus();
  IFlattenNode* flat = network->AddIFlattenNode(pool->GetOutput(0), 1);
  if (!flat) return network->GetLastStatus();
  IFullyConnectedNode* fc = network->AddIFullyConnectedNode(flat->GetOutput(0), b.Const({10, 16}, b.Normal(160, 0.3f)),
                                                            b.Const({10}, b.Normal(10, 0.1f)));
  if (!fc) return network->GetLastStatus();
  ISoftmaxNode* softmax = network->AddISoftmaxNode(fc->GetOutput(0), -1);
  if (!softmax) return network->GetLastStatus();
  softmax->GetOutput(0)->SetTensorName("probabilities");
  return network->MarkOutput(softmax->GetOutput(0));
}

}  // namespace mixq::examples
