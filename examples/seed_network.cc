#include "seed_network.h"

#include <random>

namespace mixq::examples {

SeedWeights MakeSeedWeights(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  SeedWeights w;
  w.filter.resize(16 * 3 * 3 * 3);
  w.bias.resize(16);
  for (auto& v : w.filter) v = dist(rng);
  for (auto& v : w.bias) v = dist(rng);
  return w;
}

Status BuildSeedNetworkAsWritten(INetwork* network, const SeedWeights& weights) {
  ITensor* filter =
      network->AddIConstNode(DataType::FLOAT32, Dims({16, 3, 3, 3}), weights.filter.data())->GetOutput(0);
  ITensor* bias = network->AddIConstNode(DataType::FLOAT32, Dims({16}), weights.bias.data())->GetOutput(0);
  // --- the seed's snippet, unchanged (line breaks as in the article; the scraped
  // copy in shared/seed/ lost them) ---
  // clang-format off
  ITensor *input = network->AddIInput(DataType::QINT8, Dims({-1, -1, -1, 3}));
  IConvNode *conv = network->AddIConvNode(input, filter, bias);
  IMaxPool2DNode *pool = network->AddIMaxPool2DNode(conv->GetOutput(0), false);
  network->MarkOutput(pool->GetOutput(0));
  conv->SetPrecision(0, DataType::QINT8); // 设置 conv 输⼊的精度为 QINT8
  conv->SetPrecision(1, DataType::QINT8); // 设置 conv 滤波张量的精度为 QINT8
  conv->SetPrecision(2, DataType::FLOAT16); //设置 conv bias 的精度为 FLOAT16
  conv->SetOutputType(0, DataType::FLOAT16); //设置 conv 输出的数据类型为 FLOAT16
  pool->SetOutputType(0, DataType::FLOAT16); //设置 pool 输出的数据类型为 FLOAT16
  // clang-format on
  // --- end of the snippet ---
  return network->GetLastStatus();
}

Status BuildSeedNetworkFloat(INetwork* network, const SeedWeights& weights) {
  ITensor* filter =
      network->AddIConstNode(DataType::FLOAT32, Dims({16, 3, 3, 3}), weights.filter.data())->GetOutput(0);
  ITensor* bias = network->AddIConstNode(DataType::FLOAT32, Dims({16}), weights.bias.data())->GetOutput(0);
  ITensor* input = network->AddIInput(DataType::FLOAT32, Dims({-1, -1, -1, 3}));
  IConvNode* conv = network->AddIConvNode(input, filter, bias);
  IMaxPool2DNode* pool = network->AddIMaxPool2DNode(conv->GetOutput(0), false);
  return network->MarkOutput(pool->GetOutput(0));
}

}  // namespace mixq::examples
