// libFuzzer target for the model file reader: ReadModel must return a status
// for any bytes, and a model it accepts must write back and read again.
//
// Each input is read twice: as is (the container checks), and with its
// checksum recomputed, so mutations get past the CRC into the CBOR, field and
// graph checks instead of dying at the checksum.
//
// Seed corpus: MIXQ_FUZZ_WRITE_SEED=corpus/seed.mixq ./model_reader_fuzz -runs=0
// writes a valid model there, and a second one beside it (".bf16") whose
// conv bias is consumed in BFLOAT16 (a 16-bit "bfloat16" payload); then
// ./model_reader_fuzz corpus/
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/file_layout.h"
#include "format/model_file.h"
#include "ops/graph_verifier.h"

namespace {

using mixq::DataType;
using mixq::OpKind;
using mixq::Status;
using mixq::format::ModelData;

// `bias`: none (FLOAT32), or a bias consumed in FLOAT16 / BFLOAT16, which
// the writer stores as a 16-bit payload.
ModelData SeedModel(DataType bias) {
  ModelData model;
  model.name = "seed";
  model.build_config_json = R"({"precision_config":{"precision_mode":"qint8_mixed_float16"}})";
  mixq::ir::Graph& g = model.graph;
  mixq::ir::Value* x = g.AddInput("x", DataType::FLOAT32, {-1, 6, 6, 2});
  x->range = mixq::ir::RangeSpec{{mixq::Range{-1, 1}}, -1, true};
  x->boundary_precision = DataType::QINT8;
  std::vector<int8_t> w(3 * 3 * 3 * 2, 7);
  mixq::ir::Node* wn = g.AddNode(OpKind::kConstant, "w", {}, 1);
  wn->attrs.Set("dtype", std::string("INT8"));
  wn->attrs.Set("shape", std::vector<int64_t>{3, 3, 3, 2});
  wn->constant = std::make_shared<mixq::ir::Buffer>(w.data(), w.size());
  std::vector<int> conv_inputs = {x->id, wn->outputs[0]};
  if (bias != DataType::FLOAT32) {
    const std::vector<float> b = {0.1f, -2.5f, 3.0e5f};
    mixq::ir::Node* bn = g.AddNode(OpKind::kConstant, "b", {}, 1);
    bn->attrs.Set("dtype", std::string("FLOAT32"));
    bn->attrs.Set("shape", std::vector<int64_t>{3});
    bn->constant = std::make_shared<mixq::ir::Buffer>(b.data(), b.size() * sizeof(float));
    conv_inputs.push_back(bn->outputs[0]);
  }
  mixq::ir::Node* conv = g.AddNode(OpKind::kConv2D, "conv", conv_inputs, 1);
  conv->input_precision = {{0, DataType::QINT8}, {1, DataType::QINT8}};
  // As the precision planner leaves it: x per tensor, w per output channel.
  conv->input_compute = {DataType::QINT8, DataType::QINT8};
  if (bias != DataType::FLOAT32) {
    conv->input_precision[2] = bias;
    conv->input_compute.push_back(bias);
  }
  conv->output_compute = {DataType::FLOAT32};
  mixq::ir::QuantBinding activation, weights;
  activation.scales = {0.01f};
  activation.zero_points = {0};
  weights.axis = 0;
  weights.scales = {0.1f, 0.2f, 0.3f};
  weights.zero_points = {0, 0, 0};
  conv->input_quant = {activation, weights};
  if (bias != DataType::FLOAT32) conv->input_quant.push_back(std::nullopt);
  mixq::ir::Node* pool = g.AddNode(OpKind::kMaxPool2D, "pool", {conv->outputs[0]}, 1);
  pool->output_type = {{0, DataType::FLOAT16}};
  pool->input_compute = {DataType::FLOAT32};
  pool->output_compute = {DataType::FLOAT16};
  pool->input_quant = {std::nullopt};
  g.MarkOutput(pool->outputs[0]);
  if (!mixq::ir::VerifyGraph(g).ok()) std::abort();
  return model;
}

void Check(const uint8_t* data, size_t size) {
  ModelData model;
  const Status status = mixq::format::ReadModel(data, size, &model);
  if (!status.ok()) {
    if (status.message().empty()) __builtin_trap();  // every error must say what and where
    return;
  }
  std::vector<uint8_t> rewritten;
  if (!mixq::format::WriteModel(model, &rewritten).ok()) __builtin_trap();
  ModelData again;
  if (!mixq::format::ReadModel(rewritten.data(), rewritten.size(), &again).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* path = std::getenv("MIXQ_FUZZ_WRITE_SEED")) {
    const std::pair<DataType, std::string> seeds[] = {{DataType::FLOAT32, path},
                                                      {DataType::BFLOAT16, std::string(path) + ".bf16"}};
    for (const auto& [bias, file] : seeds) {
      std::vector<uint8_t> bytes;
      if (!mixq::format::WriteModel(SeedModel(bias), &bytes).ok()) std::abort();
      FILE* f = std::fopen(file.c_str(), "wb");
      if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
      std::fclose(f);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Check(data, size);
  if (size >= mixq::format::kHeaderSize) {
    std::vector<uint8_t> resealed(data, data + size);
    mixq::format::SealModelFile(&resealed);
    Check(resealed.data(), resealed.size());
  }
  return 0;
}
