// The model file: round trip, determinism, alignment, and that every kind of
// damage (wrong magic or version, truncation, any flipped byte, inconsistent
// metadata behind a valid checksum) is reported with a status naming where.
#include "format/model_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "format/attr_codec.h"
#include "format/file_layout.h"
#include "ops/graph_verifier.h"
#include "util/checksum.h"
#include "util/half.h"

namespace mixq::format {
namespace {

using nlohmann::json;

std::shared_ptr<ir::Buffer> Floats(size_t count, float start) {
  std::vector<float> data(count);
  for (size_t i = 0; i < count; ++i) data[i] = start + 0.25f * static_cast<float>(i);
  return std::make_shared<ir::Buffer>(data.data(), data.size() * sizeof(float));
}

ir::Node* AddConstant(ir::Graph& g, const std::string& name, const ir::Shape& shape, std::shared_ptr<ir::Buffer> data) {
  ir::Node* c = g.AddNode(OpKind::kConstant, name, {}, 1);
  c->attrs.Set("dtype", std::string("FLOAT32"));
  c->attrs.Set("shape", shape);
  c->constant = std::move(data);
  return c;
}

ir::QuantBinding Binding(int64_t axis, std::vector<float> scales) {
  ir::QuantBinding b;
  b.axis = axis;
  b.zero_points.assign(scales.size(), 0);
  b.scales = std::move(scales);
  return b;
}

// x[-1,8,8,3] -> Conv2D(w[4,3,3,3] INT8, b[4], pad 1) -> MaxPool2D 2x2 -> y[-1,4,4,4],
// as the build pipeline leaves it: ranges, user overrides, planned compute
// precisions and quantization bindings (weights stored quantized, per axis),
// and payload sizes that are not multiples of 64 (so alignment needs padding).
ModelData MakeModel() {
  ModelData model;
  model.name = "tiny_convnet";
  model.build_config_json = R"({"precision_config":{"precision_mode":"qint8_mixed_float16"}})";
  model.report_json = R"({"nodes":[{"name":"conv","precision":"QINT8"}]})";
  ir::Graph& g = model.graph;
  ir::Value* x = g.AddInput("x", DataType::FLOAT32, {-1, 8, 8, 3});
  x->range = ir::RangeSpec{{Range{-1.5f, 2.25f}}, -1, false};
  x->boundary_precision = DataType::QINT8;
  std::vector<int8_t> w_data(4 * 3 * 3 * 3);
  for (size_t i = 0; i < w_data.size(); ++i) w_data[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
  ir::Node* w = g.AddNode(OpKind::kConstant, "w", {}, 1);
  w->attrs.Set("dtype", std::string("INT8"));
  w->attrs.Set("shape", std::vector<int64_t>{4, 3, 3, 3});
  w->constant = std::make_shared<ir::Buffer>(w_data.data(), w_data.size());
  ir::Node* b = AddConstant(g, "b", {4}, Floats(4, 0.5f));
  ir::Node* conv = g.AddNode(OpKind::kConv2D, "conv", {x->id, w->outputs[0], b->outputs[0]}, 1);
  conv->attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv->attrs.Set("group", int64_t{1});
  conv->attrs.Set("padding_mode", std::string("EXPLICIT"));
  conv->input_precision = {{0, DataType::QINT8}, {1, DataType::QINT8}, {2, DataType::FLOAT16}};
  conv->output_type = {{0, DataType::FLOAT16}};
  conv->input_compute = {DataType::QINT8, DataType::QINT8, DataType::FLOAT16};
  conv->output_compute = {DataType::FLOAT16};
  conv->input_quant = {Binding(-1, {0.0177f}), Binding(0, {0.01f, 0.02f, 0.03f, 1e-30f}), std::nullopt};
  g.value(w->outputs[0])->range = ir::RangeSpec{{Range{-3, 1}, Range{-2, 2}, Range{0, 0}, Range{-0.5f, 4}}, 0, true};
  ir::Node* pool = g.AddNode(OpKind::kMaxPool2D, "pool", {conv->outputs[0]}, 1);
  pool->output_type = {{0, DataType::FLOAT16}};
  pool->input_compute = {DataType::FLOAT16};
  pool->output_compute = {DataType::FLOAT16};
  pool->input_quant = {std::nullopt};
  g.MarkOutput(pool->outputs[0]);
  Status s = ir::VerifyGraph(g);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return model;
}

std::vector<uint8_t> WriteOrDie(const ModelData& model) {
  std::vector<uint8_t> bytes;
  Status s = WriteModel(model, &bytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return bytes;
}

void ExpectSameModel(const ModelData& a, const ModelData& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.build_config_json, b.build_config_json);
  EXPECT_EQ(a.report_json, b.report_json);
  EXPECT_EQ(a.graph.inputs(), b.graph.inputs());
  EXPECT_EQ(a.graph.outputs(), b.graph.outputs());
  ASSERT_EQ(a.graph.value_count(), b.graph.value_count());
  for (int i = 0; i < static_cast<int>(a.graph.value_count()); ++i) {
    const ir::Value &va = *a.graph.value(i), &vb = *b.graph.value(i);
    EXPECT_EQ(vb.id, i);
    EXPECT_EQ(va.name, vb.name);
    EXPECT_EQ(va.dtype, vb.dtype) << va.name;
    EXPECT_EQ(va.shape, vb.shape) << va.name;
    EXPECT_EQ(va.producer, vb.producer) << va.name;
    EXPECT_EQ(va.producer_output, vb.producer_output) << va.name;
    EXPECT_EQ(va.boundary_precision, vb.boundary_precision) << va.name;
    ASSERT_EQ(va.range.has_value(), vb.range.has_value()) << va.name;
    if (!va.range) continue;
    EXPECT_EQ(va.range->axis, vb.range->axis);
    EXPECT_EQ(va.range->force, vb.range->force);
    ASSERT_EQ(va.range->ranges.size(), vb.range->ranges.size());
    for (size_t r = 0; r < va.range->ranges.size(); ++r) {
      EXPECT_EQ(va.range->ranges[r].min, vb.range->ranges[r].min);
      EXPECT_EQ(va.range->ranges[r].max, vb.range->ranges[r].max);
    }
  }
  ASSERT_EQ(a.graph.node_count(), b.graph.node_count());
  for (int i = 0; i < static_cast<int>(a.graph.node_count()); ++i) {
    const ir::Node &na = *a.graph.node(i), &nb = *b.graph.node(i);
    EXPECT_EQ(nb.id, i);
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.op, nb.op);
    EXPECT_EQ(na.inputs, nb.inputs);
    EXPECT_EQ(na.outputs, nb.outputs);
    EXPECT_EQ(na.attrs.values(), nb.attrs.values()) << na.name;
    EXPECT_EQ(na.input_precision, nb.input_precision) << na.name;
    EXPECT_EQ(na.output_type, nb.output_type) << na.name;
    EXPECT_EQ(na.input_compute, nb.input_compute) << na.name;
    EXPECT_EQ(na.output_compute, nb.output_compute) << na.name;
    ASSERT_EQ(na.input_quant.size(), nb.input_quant.size()) << na.name;
    for (size_t q = 0; q < na.input_quant.size(); ++q) {
      ASSERT_EQ(na.input_quant[q].has_value(), nb.input_quant[q].has_value()) << na.name << " " << q;
      if (!na.input_quant[q]) continue;
      const ir::QuantBinding &qa = *na.input_quant[q], &qb = *nb.input_quant[q];
      EXPECT_EQ(qa.bits, qb.bits);
      EXPECT_EQ(qa.symmetric, qb.symmetric);
      EXPECT_EQ(qa.dynamic, qb.dynamic);
      EXPECT_EQ(qa.axis, qb.axis);
      EXPECT_EQ(qa.scales, qb.scales);
      EXPECT_EQ(qa.zero_points, qb.zero_points);
    }
    ASSERT_EQ(na.constant == nullptr, nb.constant == nullptr) << na.name;
    if (!na.constant) continue;
    ASSERT_EQ(na.constant->size(), nb.constant->size());
    EXPECT_EQ(std::memcmp(na.constant->data(), nb.constant->data(), na.constant->size()), 0) << na.name;
  }
}

// The parts of a written file, decoded, so tests can damage the metadata and
// re-assemble a file whose checksum is valid again.
struct Parts {
  json metadata;
  std::vector<uint8_t> weights;
};

Parts Split(const std::vector<uint8_t>& bytes) {
  FileSections sections;
  EXPECT_TRUE(OpenModelFile(bytes.data(), bytes.size(), &sections).ok());
  Parts parts;
  parts.metadata = json::from_cbor(sections.metadata, sections.metadata + sections.metadata_size);
  parts.weights.assign(sections.weights, sections.weights + sections.weights_size);
  return parts;
}

std::vector<uint8_t> Assemble(const json& metadata, const std::vector<uint8_t>& weights) {
  std::vector<uint8_t> bytes;
  const size_t offset = LayOutModelFile(json::to_cbor(metadata), weights.size(), &bytes);
  if (!weights.empty()) std::memcpy(bytes.data() + offset, weights.data(), weights.size());
  SealModelFile(&bytes);
  return bytes;
}

Status Read(const std::vector<uint8_t>& bytes, ModelData* model = nullptr) {
  ModelData scratch;
  return ReadModel(bytes.data(), bytes.size(), model ? model : &scratch);
}

bool Contains(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST(ModelFile, Crc64MatchesTheXzCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc64Of(reinterpret_cast<const uint8_t*>(check.data()), check.size()), 0x995DC9BBDF1939FAull);
  Crc64 split;  // incremental updates across the 8-byte fast path give the same value
  split.Update(reinterpret_cast<const uint8_t*>(check.data()), 3);
  split.Update(reinterpret_cast<const uint8_t*>(check.data()) + 3, 6);
  EXPECT_EQ(split.Value(), 0x995DC9BBDF1939FAull);
}

TEST(ModelFile, RoundTripPreservesEverything) {
  const ModelData model = MakeModel();
  const std::vector<uint8_t> bytes = WriteOrDie(model);
  ModelData read;
  Status s = Read(bytes, &read);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameModel(model, read);
  EXPECT_EQ(read.graph.value(0)->shape, (ir::Shape{-1, 8, 8, 3}));
}

TEST(ModelFile, WritingIsDeterministic) {
  const std::vector<uint8_t> first = WriteOrDie(MakeModel());
  EXPECT_EQ(first, WriteOrDie(MakeModel()));
  ModelData read;
  ASSERT_TRUE(Read(first, &read).ok());
  EXPECT_EQ(first, WriteOrDie(read)) << "a model read back must write the same bytes";
}

TEST(ModelFile, PayloadsAre64ByteAlignedInTheFile) {
  const ModelData model = MakeModel();
  const std::vector<uint8_t> bytes = WriteOrDie(model);
  FileSections sections;
  ASSERT_TRUE(OpenModelFile(bytes.data(), bytes.size(), &sections).ok());
  EXPECT_EQ(sections.weights_offset % 64, 0u);
  const json metadata = Split(bytes).metadata;
  int constants = 0;
  for (const json& node : metadata["nodes"]) {
    if (!node.contains("constant")) continue;
    ++constants;
    const size_t offset = sections.weights_offset + node["constant"]["offset"].get<size_t>();
    EXPECT_EQ(offset % 64, 0u) << node["name"];
    const ir::Node* n = model.graph.FindNode(node["name"].get<std::string>());
    ASSERT_NE(n, nullptr);
    if (node["constant"].contains("encoding")) {  // the bias, consumed in FLOAT16: stored as float16
      const auto* x = static_cast<const float*>(n->constant->data());
      for (size_t e = 0; e < n->constant->size() / sizeof(float); ++e) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + offset + 2 * e, 2);
        EXPECT_EQ(h, FloatToHalf(x[e])) << node["name"] << " element " << e;
      }
      continue;
    }
    EXPECT_EQ(std::memcmp(bytes.data() + offset, n->constant->data(), n->constant->size()), 0);
  }
  EXPECT_EQ(constants, 2);
}

TEST(ModelFile, SharedPayloadIsStoredOnceAndStaysShared) {
  ModelData model;
  ir::Graph& g = model.graph;
  ir::Value* x = g.AddInput("x", DataType::FLOAT32, {1, 4, 4, 2});
  auto weights = Floats(2 * 1 * 1 * 2, 1.0f);
  ir::Node* w1 = AddConstant(g, "w1", {2, 1, 1, 2}, weights);
  ir::Node* w2 = AddConstant(g, "w2", {2, 1, 1, 2}, weights);
  ir::Node* c1 = g.AddNode(OpKind::kConv2D, "c1", {x->id, w1->outputs[0]}, 1);
  ir::Node* c2 = g.AddNode(OpKind::kConv2D, "c2", {c1->outputs[0], w2->outputs[0]}, 1);
  g.MarkOutput(c2->outputs[0]);
  ASSERT_TRUE(ir::VerifyGraph(g).ok());
  const std::vector<uint8_t> bytes = WriteOrDie(model);
  ModelData read;
  ASSERT_TRUE(Read(bytes, &read).ok());
  ExpectSameModel(model, read);
  EXPECT_EQ(read.graph.node(w1->id)->constant, read.graph.node(w2->id)->constant);
  FileSections sections;
  ASSERT_TRUE(OpenModelFile(bytes.data(), bytes.size(), &sections).ok());
  EXPECT_EQ(sections.weights_size, weights->size());
}

TEST(ModelFile, ModelWithoutWeightsRoundTrips) {
  ModelData model;
  model.name = "pool_only";
  ir::Value* x = model.graph.AddInput("x", DataType::FLOAT32, {1, -1, -1, 3});
  ir::Node* p = model.graph.AddNode(OpKind::kMaxPool2D, "p", {x->id}, 1);
  p->input_precision = {{0, DataType::QINT16}};
  model.graph.MarkOutput(p->outputs[0]);
  Status verified = ir::VerifyGraph(model.graph);
  ASSERT_TRUE(verified.ok()) << verified.ToString();
  ModelData read;
  Status s = Read(WriteOrDie(model), &read);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameModel(model, read);
}

TEST(ModelFile, EveryAttributeTypeRoundTrips) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<ir::AttrValue> values = {int64_t{0},
                                             int64_t{-1},
                                             std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max(),
                                             0.1f,
                                             -0.0f,
                                             inf,
                                             std::numeric_limits<float>::denorm_min(),
                                             std::string(),
                                             std::string("SAME_UPPER"),
                                             std::vector<int64_t>{},
                                             std::vector<int64_t>{-1, 0, 1LL << 40},
                                             std::vector<float>{},
                                             std::vector<float>{1.5f, -inf, 3e38f}};
  for (const ir::AttrValue& value : values) {
    // Through CBOR bytes, as in a file.
    const json decoded_cbor = json::from_cbor(json::to_cbor(EncodeAttr(value)));
    ir::AttrValue back;
    Status s = DecodeAttr(decoded_cbor, "a", &back);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(back.index(), value.index());
    EXPECT_TRUE(back == value);
  }
  ir::AttrValue back;
  ASSERT_TRUE(DecodeAttr(json::from_cbor(json::to_cbor(EncodeAttr(nan))), "a", &back).ok());
  EXPECT_TRUE(std::isnan(std::get<float>(back)));
  // Empty ints and empty floats stay distinct.
  ASSERT_TRUE(DecodeAttr(EncodeAttr(std::vector<float>{}), "a", &back).ok());
  EXPECT_EQ(ir::TypeOf(back), ir::AttrType::kFloats);
}

TEST(ModelFile, WrongMagicIsNotAModelFile) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  bytes[3] = 'X';
  Status s = Read(bytes);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(s, "not a mixq model file")) << s.message();
  const std::string text = "{\"this is\": \"json\"}";
  s = Read(std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_TRUE(Contains(s, "not a mixq model file")) << s.message();
}

TEST(ModelFile, WrongVersionNamesBothVersions) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  bytes[kVersionOffset] = 7;
  SealModelFile(&bytes);
  Status s = Read(bytes);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(s, "version 7")) << s.message();
  EXPECT_TRUE(Contains(
      s, "versions " + std::to_string(kOldestModelFormatVersion) + " to " + std::to_string(kModelFormatVersion)))
      << s.message();
}

TEST(ModelFile, EveryTruncationIsDataLoss) {
  const std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  for (size_t size = 0; size < bytes.size(); ++size) {
    ModelData model;
    Status s = ReadModel(bytes.data(), size, &model);
    ASSERT_EQ(s.code(), StatusCode::DATA_LOSS) << "size " << size << ": " << s.ToString();
    ASSERT_TRUE(Contains(s, "truncated")) << "size " << size << ": " << s.message();
    ASSERT_TRUE(Contains(s, "byte offset")) << "size " << size << ": " << s.message();
  }
  EXPECT_EQ(ReadModel(nullptr, 0, nullptr).code(), StatusCode::INVALID_ARGUMENT);
  ModelData model;
  EXPECT_FALSE(ReadModel(nullptr, 0, &model).ok());
}

TEST(ModelFile, TrailingBytesAreDataLoss) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  bytes.push_back(0);
  Status s = Read(bytes);
  EXPECT_EQ(s.code(), StatusCode::DATA_LOSS);
  EXPECT_TRUE(Contains(s, "trailing")) << s.message();
}

TEST(ModelFile, EverySingleByteCorruptionIsDetected) {
  const std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  FileSections sections;
  ASSERT_TRUE(OpenModelFile(bytes.data(), bytes.size(), &sections).ok());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::vector<uint8_t> damaged = bytes;
      damaged[i] ^= mask;
      Status s = Read(damaged);
      ASSERT_FALSE(s.ok()) << "byte " << i << " ^ " << int(mask) << " went unnoticed";
      // Past the magic and version, damage is data loss (the checksum or a header check).
      if (i >= kHeaderSizeOffset) {
        ASSERT_EQ(s.code(), StatusCode::DATA_LOSS) << i << ": " << s.message();
      }
      if (i >= kHeaderSize) {
        ASSERT_TRUE(Contains(s, "checksum mismatch")) << i << ": " << s.message();
      }
    }
  }
}

TEST(ModelFile, FailedReadLeavesTheModelUntouched) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  bytes[bytes.size() / 2] ^= 1;
  ModelData model;
  model.name = "keep me";
  EXPECT_FALSE(Read(bytes, &model).ok());
  EXPECT_EQ(model.name, "keep me");
  EXPECT_EQ(model.graph.value_count(), 0u);
}

// Damages the metadata of a valid file, re-seals it, and returns the status.
template <typename Damage>
Status ReadDamaged(Damage damage) {
  Parts parts = Split(WriteOrDie(MakeModel()));
  damage(parts.metadata, parts.weights);
  return Read(Assemble(parts.metadata, parts.weights));
}

void ExpectInvalid(const Status& s, std::initializer_list<const char*> fragments) {
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
  for (const char* fragment : fragments)
    EXPECT_TRUE(Contains(s, fragment)) << "no '" << fragment << "' in " << s.message();
}

// Node order in MakeModel: 0 w, 1 b, 2 conv, 3 pool. Values: 0 x, 1 w, 2 b, 3 conv, 4 pool.
TEST(ModelFile, ReassembledUntouchedFileReads) {
  EXPECT_TRUE(ReadDamaged([](json&, std::vector<uint8_t>&) {}).ok());
}

TEST(ModelFile, UnknownOpIsNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["op"] = "Conv2X"; }), {"'nodes[2].op'", "Conv2X"});
}

TEST(ModelFile, OutOfRangeIdsAreNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["inputs"][0] = 99; }), {"'nodes[2].inputs[0]'", "99"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][3]["outputs"][0] = -1; }), {"'nodes[3].outputs[0]'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][3]["producer"] = 4; }), {"'values[3].producer'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["outputs"][0] = 5; }), {"'outputs[0]'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["inputs"].push_back(0); }), {"'inputs'", "twice"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][4]["producer_output"] = 1; }),
                {"'values[4].producer_output'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_precision"][0]["index"] = 3; }),
                {"'nodes[2].input_precision[0].index'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["inputs"][0] = uint64_t{1} << 63; }),
                {"'nodes[2].inputs[0]'"});
}

TEST(ModelFile, PayloadProblemsAreNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][0]["constant"]["size"] = 8; }),
                {"'nodes[0].constant.size'", "108", "INT8"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"]["offset"] = 1 << 20; }),
                {"'nodes[1].constant.offset'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"]["offset"] = 32; }),
                {"'nodes[1].constant.offset'", "aligned"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"]["offset"] = 0; }),
                {".constant'", "overlap", "nodes[1]"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) {
                  m["nodes"][2]["constant"] = {{"offset", 0}, {"size", 16}};
                }),
                {"'nodes[2].constant'", "only Constant"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][0].erase("constant"); }), {"'nodes[0].constant'"});
  // Dims whose byte count overflows 64 bits must not wrap around to the payload size.
  ExpectInvalid(ReadDamaged([](json& m, auto&) {
                  m["nodes"][0]["attrs"]["shape"]["value"] = {int64_t{1} << 62, int64_t{1} << 62, 0x10};
                }),
                {"'nodes[0].constant.size'"});
}

TEST(ModelFile, MissingMistypedAndUnknownFieldsAreNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][3].erase("attrs"); }), {"'nodes[3].attrs'", "missing"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m.erase("report"); }), {"'report'", "missing"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["attrs"]["strides"]["value"] = "wide"; }),
                {"'nodes[2].attrs.strides.value'", "array"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["attrs"]["strides"]["type"] = "matrix"; }),
                {"'nodes[2].attrs.strides.type'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][0]["dtype"] = "FLOAT128"; }),
                {"'values[0].dtype'", "FLOAT128"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][0]["shape"][1] = -2; }), {"'values[0].shape[1]'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][0]["range"]["ranges"][0] = {1.0}; }),
                {"'values[0].range.ranges[0]'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][0]["range"]["ranges"][0][0] = 1e300; }),
                {"'values[0].range.ranges[0][0]'", "float range"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["colour"] = "blue"; }), {"'nodes[1].colour'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m = json::array(); }), {"(root)", "object"});
}

TEST(ModelFile, PlannedPrecisionProblemsAreNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) {
                  m["nodes"][2]["input_quant"][1]["scales"].erase(0);
                  m["nodes"][2]["input_quant"][1]["zero_points"].erase(0);
                }),
                {"'nodes[2].input_quant[1].scales'", "3 scales", "4 channels"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][0] = nullptr; }),
                {"'nodes[2].input_quant[0]'", "missing"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][1]["axis"] = 4; }),
                {"'nodes[2].input_quant[1].axis'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][0]["bits"] = 16; }),
                {"'nodes[2].input_quant[0].bits'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][0]["scales"][0] = -1.0; }),
                {"'nodes[2].input_quant[0]'", "scale"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][1]["dynamic"] = true; }),
                {"'nodes[2].input_quant[1].dynamic'"});
  ExpectInvalid(
      ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][1]["zero_points"][0] = int64_t{1} << 40; }),
      {"'nodes[2].input_quant[1].zero_points[0]'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_quant"][2] = m["nodes"][2]["input_quant"][0]; }),
                {"'nodes[2].input_quant[2]'", "FLOAT16"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_compute"].erase(2); }),
                {"'nodes[2].input_compute'", "2 entries for 3 inputs"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][3]["output_compute"][0] = "QINT9"; }),
                {"'nodes[3].output_compute[0]'", "QINT9"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][0]["boundary_precision"] = "FLOAT16"; }),
                {"'values[0].boundary_precision'"});
}

// Issue 14 #1: a stored output type the plan cannot produce made a kernel write
// a type its buffer was not sized for (heap overflow for QINT8 / INT8 / BOOL,
// garbage for INT32 / QINT16). Every such type, on every node, is refused.
TEST(ModelFile, StoredTypesThePlanCannotProduceAreRefused) {
  for (const char* type : {"QINT8", "QINT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "BOOL"}) {
    for (int node : {2, 3}) {
      const std::string field = "'nodes[" + std::to_string(node) + "].output_compute[0]'";
      ExpectInvalid(ReadDamaged([&](json& m, auto&) { m["nodes"][node]["output_compute"][0] = type; }),
                    {field.c_str(), type, "the plan produces FLOAT32, FLOAT16 or BFLOAT16"});
    }
  }
  // A float input consumed as an integer type, and an integer bias without its binding.
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][3]["input_compute"][0] = "INT8"; }),
                {"'nodes[3].input_compute[0]'", "INT8", "tensor 'conv:0'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][2]["input_compute"][2] = "INT32"; }),
                {"'nodes[2].input_compute[2]'", "INT32"});
  // MaxPool2D has no quantized kernel: a QINT8 input there is not a plan mixq makes.
  ExpectInvalid(ReadDamaged([](json& m, auto&) {
                  m["nodes"][3]["input_compute"][0] = "QINT8";
                  m["nodes"][3]["input_quant"][0] = m["nodes"][2]["input_quant"][0];
                }),
                {"'nodes[3].input_compute[0]'", "cannot be consumed quantized"});
}

TEST(ModelFile, GraphLevelProblemsComeFromTheVerifier) {
  // Well-formed fields, wrong meaning: an attribute of the wrong type for the op.
  ExpectInvalid(ReadDamaged([](json& m, auto&) {
                  m["nodes"][2]["attrs"]["group"] = {{"type", "string"}, {"value", "1"}};
                }),
                {"conv", "group"});
  // A stored shape that inference contradicts.
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["values"][4]["shape"] = {1, 2, 3, 4}; }), {"'values[4]'", "infers"});
  // Two consumers of one output and a cycle: pool reads its own output.
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][3]["inputs"][0] = 4; }), {"cycle"});
}

TEST(ModelFile, BadCborIsDataLossWithAnOffset) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  bytes[kHeaderSize] = 0xFF;  // a "break" byte where the top-level map should start
  SealModelFile(&bytes);
  Status s = Read(bytes);
  EXPECT_EQ(s.code(), StatusCode::DATA_LOSS) << s.ToString();
  EXPECT_TRUE(Contains(s, "CBOR")) << s.message();
  EXPECT_TRUE(Contains(s, "byte offset " + std::to_string(kHeaderSize))) << s.message();
}

TEST(ModelFile, DeeplyNestedCborIsRejectedWithoutRecursing) {
  // One million nested one-element arrays would overflow the stack of a
  // recursive parser; the reader must stop at its depth limit.
  std::vector<uint8_t> metadata(1000000, 0x81);
  metadata.push_back(0xF6);
  std::vector<uint8_t> bytes;
  LayOutModelFile(metadata, 0, &bytes);
  SealModelFile(&bytes);
  Status s = Read(bytes);
  EXPECT_EQ(s.code(), StatusCode::DATA_LOSS) << s.ToString();
  EXPECT_TRUE(Contains(s, "deeper")) << s.message();
}

TEST(ModelFile, HugeDeclaredLengthsDoNotAllocate) {
  // A CBOR array header claiming 2^64-1 elements, or a string of 2^64-1 bytes,
  // followed by nothing: the parser must stop at the end of the input.
  for (std::vector<uint8_t> metadata : {std::vector<uint8_t>{0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
                                        std::vector<uint8_t>{0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}) {
    std::vector<uint8_t> bytes;
    LayOutModelFile(metadata, 0, &bytes);
    SealModelFile(&bytes);
    EXPECT_EQ(Read(bytes).code(), StatusCode::DATA_LOSS);
  }
}

TEST(ModelFile, WriterRefusesModelsTheReaderWouldReject) {
  ModelData unverified = MakeModel();
  unverified.graph.value(4)->shape = {9};
  Status s = WriteModel(unverified, nullptr);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  std::vector<uint8_t> bytes;
  s = WriteModel(unverified, &bytes);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
  EXPECT_TRUE(Contains(s, "'pool:0'")) << s.message();

  ModelData bad_override = MakeModel();
  bad_override.graph.node(3)->input_precision[5] = DataType::QINT8;
  s = WriteModel(bad_override, &bytes);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
  EXPECT_TRUE(Contains(s, "node 'pool'")) << s.message();

  ModelData bad_binding = MakeModel();
  bad_binding.graph.node(2)->input_quant[1]->scales.pop_back();
  bad_binding.graph.node(2)->input_quant[1]->zero_points.pop_back();
  s = WriteModel(bad_binding, &bytes);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << s.ToString();
  EXPECT_TRUE(Contains(s, "input_quant[1].scales")) << s.message();

  ModelData no_payload = MakeModel();
  no_payload.graph.node(0)->constant.reset();
  EXPECT_FALSE(WriteModel(no_payload, &bytes).ok());
}

// A FLOAT32 constant every consumer computes in FLOAT16 is stored as float16
// (half the bytes) and read back as the float32 of its float16 rounding, the
// value the engine would compute with; one also read in FLOAT32 stays float32.
TEST(ModelFile, ConstantsConsumedInFloat16AreStoredAsFloat16) {
  ModelData model = MakeModel();
  ir::Node& b = *model.graph.node(1);
  const std::vector<float> values = {0.1f, -3.14159f, 65504.0f, 1e-7f};
  b.constant = std::make_shared<ir::Buffer>(values.data(), values.size() * sizeof(float));
  const std::vector<uint8_t> bytes = WriteOrDie(model);
  const json metadata = Split(bytes).metadata;
  EXPECT_EQ(metadata["nodes"][1]["constant"]["encoding"], "float16");
  EXPECT_EQ(metadata["nodes"][1]["constant"]["size"], 8);
  EXPECT_FALSE(metadata["nodes"][0]["constant"].contains("encoding"));  // INT8 weights
  ModelData read;
  ASSERT_TRUE(Read(bytes, &read).ok());
  const auto* got = static_cast<const float*>(read.graph.node(1)->constant->data());
  ASSERT_EQ(read.graph.node(1)->constant->size(), values.size() * sizeof(float));
  for (size_t e = 0; e < values.size(); ++e) EXPECT_EQ(got[e], RoundToHalf(values[e])) << e;
  EXPECT_EQ(got[0], 0.0999755859375f);  // the float16 nearest 0.1

  model.graph.node(2)->input_compute[2] = DataType::FLOAT32;  // the bias now read in float32: kept exact
  model.graph.node(2)->input_precision[2] = DataType::FLOAT32;
  const json kept = Split(WriteOrDie(model)).metadata;
  EXPECT_FALSE(kept["nodes"][1]["constant"].contains("encoding"));
  EXPECT_EQ(kept["nodes"][1]["constant"]["size"], 16);
}

// The same for BFLOAT16 (force_bfloat16): stored as bfloat16, read back as
// the float32 of its bfloat16 rounding; a constant read in FLOAT16 by one
// consumer and in BFLOAT16 by another stays float32.
TEST(ModelFile, ConstantsConsumedInBFloat16AreStoredAsBFloat16) {
  ModelData model = MakeModel();
  ir::Node& b = *model.graph.node(1);
  const std::vector<float> values = {0.1f, -3.14159f, 1e30f, 1e-30f};
  b.constant = std::make_shared<ir::Buffer>(values.data(), values.size() * sizeof(float));
  model.graph.node(2)->input_compute[2] = DataType::BFLOAT16;
  model.graph.node(2)->input_precision[2] = DataType::BFLOAT16;
  const std::vector<uint8_t> bytes = WriteOrDie(model);
  const json metadata = Split(bytes).metadata;
  EXPECT_EQ(metadata["nodes"][1]["constant"]["encoding"], "bfloat16");
  EXPECT_EQ(metadata["nodes"][1]["constant"]["size"], 8);
  ModelData read;
  ASSERT_TRUE(Read(bytes, &read).ok());
  const auto* got = static_cast<const float*>(read.graph.node(1)->constant->data());
  for (size_t e = 0; e < values.size(); ++e) EXPECT_EQ(got[e], RoundToBFloat16(values[e])) << e;
  EXPECT_EQ(got[0], 0.10009765625f);          // the bfloat16 nearest 0.1
  EXPECT_EQ(got[2], RoundToBFloat16(1e30f));  // beyond float16's range
}

TEST(ModelFile, Float16EncodingProblemsAreNamed) {
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"]["encoding"] = "float8"; }),
                {"'nodes[1].constant.encoding'", "float8"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"]["encoding"] = 16; }),
                {"'nodes[1].constant.encoding'"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][0]["constant"]["encoding"] = "float16"; }),
                {"'nodes[0].constant.encoding'", "INT8"});
  ExpectInvalid(ReadDamaged([](json& m, auto&) { m["nodes"][1]["constant"].erase("encoding"); }),
                {"'nodes[1].constant.size'", "8", "16"});
}

TEST(ModelFile, Version1FilesStillRead) {
  std::vector<uint8_t> bytes = WriteOrDie(MakeModel());
  Parts parts = Split(bytes);
  parts.metadata["nodes"][1]["constant"].erase("encoding");  // version 1 had no float16 payloads
  parts.metadata["nodes"][1]["constant"]["size"] = 16;
  std::vector<uint8_t> weights(parts.weights.size() + 64, 0);
  std::memcpy(weights.data(), parts.weights.data(), parts.weights.size());
  const std::vector<float> bias = {0.5f, 0.75f, 1.0f, 1.25f};
  const size_t at = parts.metadata["nodes"][1]["constant"]["offset"].get<size_t>();
  std::memcpy(weights.data() + at, bias.data(), sizeof(float) * bias.size());
  std::vector<uint8_t> v1 = Assemble(parts.metadata, weights);
  v1[kVersionOffset] = 1;
  SealModelFile(&v1);
  ModelData read;
  const Status s = Read(v1, &read);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(std::memcmp(read.graph.node(1)->constant->data(), bias.data(), sizeof(float) * bias.size()), 0);
}

}  // namespace
}  // namespace mixq::format
