// A deterministic mini-fuzzer for ReadModel that runs in CI: random damage to
// a valid file at every level (raw bytes, header fields, CBOR bytes behind a
// fixed-up checksum, and the decoded metadata tree itself) must always give a
// status, never a crash; and whatever is accepted must write and read back.
// The libFuzzer target in fuzz/ explores further; this keeps a floor in CI.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "format/file_layout.h"
#include "format/model_file.h"
#include "ops/graph_verifier.h"

namespace mixq::format {
namespace {

using nlohmann::json;

ModelData MakeModel() {
  ModelData model;
  model.name = "fuzz_seed";
  model.build_config_json = "{}";
  ir::Graph& g = model.graph;
  ir::Value* x = g.AddInput("x", DataType::FLOAT32, {-1, 6, 6, 2});
  x->range = ir::RangeSpec{{Range{-1, 1}}, -1, true};
  x->boundary_precision = DataType::QINT8;
  std::vector<int8_t> w(3 * 3 * 3 * 2, 7);
  std::vector<float> b(3, -1.0f);
  ir::Node* wn = g.AddNode(OpKind::kConstant, "w", {}, 1);
  wn->attrs.Set("dtype", std::string("INT8"));
  wn->attrs.Set("shape", std::vector<int64_t>{3, 3, 3, 2});
  wn->constant = std::make_shared<ir::Buffer>(w.data(), w.size());
  ir::Node* bn = g.AddNode(OpKind::kConstant, "b", {}, 1);
  bn->attrs.Set("dtype", std::string("FLOAT32"));
  bn->attrs.Set("shape", std::vector<int64_t>{3});
  bn->constant = std::make_shared<ir::Buffer>(b.data(), b.size() * sizeof(float));
  ir::Node* conv = g.AddNode(OpKind::kConv2D, "conv", {x->id, wn->outputs[0], bn->outputs[0]}, 1);
  conv->input_precision = {{0, DataType::QINT8}};
  // As the precision planner leaves it: x per tensor, w per output channel.
  conv->input_compute = {DataType::QINT8, DataType::QINT8, DataType::FLOAT32};
  conv->output_compute = {DataType::FLOAT32};
  ir::QuantBinding activation, weights;
  activation.scales = {0.01f};
  activation.zero_points = {0};
  weights.axis = 0;
  weights.scales = {0.1f, 0.2f, 0.3f};
  weights.zero_points = {0, 0, 0};
  conv->input_quant = {activation, weights, std::nullopt};
  ir::Node* pool = g.AddNode(OpKind::kMaxPool2D, "pool", {conv->outputs[0]}, 1);
  pool->output_type = {{0, DataType::FLOAT16}};
  pool->input_compute = {DataType::FLOAT32};
  pool->output_compute = {DataType::FLOAT16};
  pool->input_quant = {std::nullopt};
  g.MarkOutput(pool->outputs[0]);
  EXPECT_TRUE(ir::VerifyGraph(g).ok());
  return model;
}

// Values chosen to sit on the edges the reader checks: ids just out of
// range, negative dims, unsigned values above INT64_MAX, non-finite floats,
// known and unknown names.
json RandomValue(std::mt19937& rng) {
  static const std::vector<json> kValues = {-1,
                                            0,
                                            1,
                                            2,
                                            3,
                                            4,
                                            5,
                                            7,
                                            64,
                                            4096,
                                            -2,
                                            int64_t{1} << 31,
                                            int64_t{1} << 40,
                                            std::numeric_limits<int64_t>::min(),
                                            std::numeric_limits<uint64_t>::max(),
                                            0.5,
                                            -0.0,
                                            1e39,
                                            std::numeric_limits<double>::quiet_NaN(),
                                            std::numeric_limits<double>::infinity(),
                                            "",
                                            "Conv2D",
                                            "MaxPool2D",
                                            "Constant",
                                            "Flatten",
                                            "FLOAT32",
                                            "QINT8",
                                            "INT64",
                                            "int",
                                            "ints",
                                            "float",
                                            "floats",
                                            "string",
                                            "NCHW",
                                            "SAME_UPPER",
                                            "bogus",
                                            nullptr,
                                            true,
                                            false,
                                            json::array(),
                                            json::object(),
                                            json::array({0, 0}),
                                            json::array({1, 1, 1, 1}),
                                            json::array({-1, 6, 6, 2}),
                                            json::object({{"offset", 0}, {"size", 4}}),
                                            json::object({{"type", "int"}, {"value", 0}})};
  return kValues[rng() % kValues.size()];
}

// Every node of the tree with its parent, so any one can be replaced or removed.
struct Slot {
  json* node;
  json* parent;
  std::string key;  // in an object parent
  size_t index;     // in an array parent
};

void Collect(json& j, json* parent, const std::string& key, size_t index, std::vector<Slot>* out) {
  out->push_back({&j, parent, key, index});
  if (j.is_object())
    for (auto& item : j.items()) Collect(item.value(), &j, item.key(), 0, out);
  else if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) Collect(j[i], &j, "", i, out);
}

void MutateTree(json& metadata, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    std::vector<Slot> slots;
    Collect(metadata, nullptr, "", 0, &slots);
    const Slot& s = slots[rng() % slots.size()];
    switch (rng() % 4) {
      case 0:
      case 1:
        *s.node = RandomValue(rng);
        break;
      case 2:  // remove it
        if (s.parent && s.parent->is_object())
          s.parent->erase(s.key);
        else if (s.parent)
          s.parent->erase(s.index);
        break;
      case 3:  // copy another subtree over it (plausible but misplaced structure)
        *s.node = json(*slots[rng() % slots.size()].node);
        break;
    }
  }
}

std::vector<uint8_t> Reassemble(const json& metadata, const uint8_t* weights, size_t weights_size) {
  std::vector<uint8_t> bytes;
  const size_t offset = LayOutModelFile(json::to_cbor(metadata), weights_size, &bytes);
  if (weights_size) std::memcpy(bytes.data() + offset, weights, weights_size);
  SealModelFile(&bytes);
  return bytes;
}

void StoreU64(std::vector<uint8_t>& bytes, size_t at, uint64_t v) {
  for (int i = 0; i < 8 && at + i < bytes.size(); ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(ModelFileFuzz, RandomMutationsNeverCrash) {
  const std::vector<uint8_t> seed = [] {
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(WriteModel(MakeModel(), &bytes).ok());
    return bytes;
  }();
  FileSections sections;
  ASSERT_TRUE(OpenModelFile(seed.data(), seed.size(), &sections).ok());
  const json seed_metadata = json::from_cbor(sections.metadata, sections.metadata + sections.metadata_size);

  std::mt19937 rng(20240611);
  std::map<StatusCode, int> outcomes;
  constexpr int kIterations = 2000;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    std::vector<uint8_t> bytes = seed;
    const int kind = static_cast<int>(rng() % 6);
    bool reseal = rng() % 2 == 0;
    switch (kind) {
      case 0:  // flip a few bytes anywhere
        for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) bytes[rng() % bytes.size()] ^= 1 + rng() % 255;
        break;
      case 1:  // truncate
        bytes.resize(rng() % bytes.size());
        break;
      case 2: {  // insert random bytes
        const size_t at = rng() % (bytes.size() + 1);
        std::vector<uint8_t> extra(1 + rng() % 16);
        for (auto& b : extra) b = static_cast<uint8_t>(rng());
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
        break;
      }
      case 3:  // damage CBOR bytes only, then fix the checksum so the parser sees them
        for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n)
          bytes[kHeaderSize + rng() % sections.metadata_size] = static_cast<uint8_t>(rng());
        reseal = true;
        break;
      case 4: {  // edit the decoded metadata: reaches the field checks and the verifier
        json metadata = seed_metadata;
        MutateTree(metadata, rng);
        bytes = Reassemble(metadata, sections.weights, sections.weights_size);
        reseal = false;
        break;
      }
      case 5: {  // overwrite one 64-bit header field
        const size_t fields[] = {kMetadataOffsetField, kMetadataSizeField, kWeightsOffsetField, kWeightsSizeField,
                                 kVersionOffset};
        const uint64_t values[] = {0,
                                   1,
                                   kHeaderSize,
                                   seed.size(),
                                   seed.size() + 1,
                                   ~uint64_t{0},
                                   uint64_t{1} << 63,
                                   static_cast<uint64_t>(rng())};
        StoreU64(bytes, fields[rng() % 5], values[rng() % 8]);
        break;
      }
    }
    if (reseal) SealModelFile(&bytes);

    ModelData model;
    Status s = ReadModel(bytes.data(), bytes.size(), &model);
    ++outcomes[s.code()];
    if (s.ok()) {
      // Accepted means fully usable: it writes, and the result reads back.
      std::vector<uint8_t> rewritten;
      Status w = WriteModel(model, &rewritten);
      ASSERT_TRUE(w.ok()) << "iteration " << iteration << ": " << w.ToString();
      ModelData again;
      ASSERT_TRUE(ReadModel(rewritten.data(), rewritten.size(), &again).ok()) << "iteration " << iteration;
    } else {
      ASSERT_FALSE(s.message().empty()) << "iteration " << iteration;
    }
  }
  // The mutations must reach past the checksum into the structure checks.
  EXPECT_GT(outcomes[StatusCode::DATA_LOSS], 100);
  EXPECT_GT(outcomes[StatusCode::INVALID_ARGUMENT], 100);
  for (const auto& [code, count] : outcomes) std::printf("  %-18s %d\n", StatusCodeName(code), count);
}

}  // namespace
}  // namespace mixq::format
