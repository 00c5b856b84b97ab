// Malformed ONNX input: each kind of damage gives a one-line Status naming
// what is wrong, and a deterministic mutation run (bytes and protobuf fields)
// never crashes. The libFuzzer target fuzz/onnx_parser_fuzz.cc explores further.
#include <gtest/gtest.h>

#include <random>

#include "onnx_test_util.h"

namespace mixq::testing {
namespace {

// A small model touching folding, convolution and most attribute kinds.
OnnxBuilder SeedModel() {
  OnnxBuilder b(13);
  b.Input("x", {-1, 2, 4, 4}).Output("y").Output("parts0");
  b.InitFloat("w", {2, 2, 3, 3}, std::vector<float>(36, 0.1f));
  b.InitFloat("bias", {2}, {0.5f, -0.5f});
  auto* conv = b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv");
  AttrInts(conv, "pads", {1, 1, 1, 1});
  AttrInts(conv, "strides", {1, 1});
  b.InitFloat("lo", {}, {0});
  b.InitFloat("hi", {}, {6});
  b.Node("Clip", {"c", "lo", "hi"}, {"r"}, "clip");
  b.Node("Shape", {"r"}, {"s"}, "shape");
  b.InitInt64("idx", {}, {0});
  b.Node("Gather", {"s", "idx"}, {"n"}, "gather");
  b.InitInt64("ax", {1}, {0});
  b.Node("Unsqueeze", {"n", "ax"}, {"n1"}, "unsqueeze");
  b.InitInt64("rest", {1}, {-1});
  AttrInt(b.Node("Concat", {"n1", "rest"}, {"target"}, "concat"), "axis", 0);
  b.Node("Reshape", {"r", "target"}, {"flat"}, "reshape");
  b.InitInt64("sizes", {2}, {16, 16});
  auto* split = b.Node("Split", {"flat", "sizes"}, {"parts0", "parts1"}, "split");
  AttrInt(split, "axis", 1);
  b.InitFloat("fc", {3, 16}, std::vector<float>(48, 0.01f));
  auto* gemm = b.Node("Gemm", {"parts1", "fc"}, {"g"}, "gemm");
  AttrInt(gemm, "transB", 1);
  AttrInt(b.Node("Softmax", {"g"}, {"y"}, "softmax"), "axis", -1);
  return b;
}

void ExpectOneLineError(const Status& s, const std::string& needle) {
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.message().empty());
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
}

Status Parse(const OnnxBuilder& b) {
  auto network = CreateINetwork();
  return ParseBytes(b.Bytes(), network.get());
}

TEST(OnnxMalformed, SeedModelImportsAndRuns) {
  auto network = CreateINetwork();
  Status s = ParseBytes(SeedModel().Bytes(), network.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  // x = 1 everywhere: each conv output is 0.1 * (in-bounds taps over 2 channels) +- 0.5, clipped to [0, 6].
  RunResult r = RunFloat(network.get(), {Dims{1, 2, 4, 4}}, {std::vector<float>(32, 1.0f)});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.dims[0], Dims({1, 3}));
  EXPECT_NEAR(r.outputs[0][0], 1.0f / 3, 1e-6f);  // identical logits
  // parts0 = channel 0 = 0.1 * taps * 2 + 0.5: corners have 4 taps -> 1.3.
  EXPECT_NEAR(r.outputs[1][0], 1.3f, 1e-5f);
}

TEST(OnnxMalformed, TruncatedAndForeignBytes) {
  const std::string bytes = SeedModel().Bytes();
  auto network = CreateINetwork();
  ExpectOneLineError(ParseBytes(bytes.substr(0, bytes.size() / 2), network.get()), "not a valid ONNX model");
  ExpectOneLineError(ParseBytes(std::string("\x89PNG\r\n\x1a\n garbage", 16), network.get()), "not a valid ONNX model");
  ExpectOneLineError(ParseBytes("", network.get()), "empty");
  // Valid protobuf, but no graph.
  onnx::ModelProto empty;
  empty.set_ir_version(8);
  ExpectOneLineError(ParseBytes(empty.SerializeAsString(), network.get()), "no graph");
}

TEST(OnnxMalformed, MissingInitializerIsADanglingInput) {
  OnnxBuilder b = SeedModel();
  auto* inits = b.graph().mutable_initializer();
  for (int i = 0; i < inits->size(); ++i)
    if (inits->Get(i).name() == "w") inits->DeleteSubrange(i, 1);
  ExpectOneLineError(Parse(b), "node 0 'conv' (Conv): input 'w' is not a graph input, an initializer");
}

TEST(OnnxMalformed, BadAttributeType) {
  OnnxBuilder b = SeedModel();
  auto* strides = b.graph().mutable_node(0)->mutable_attribute(1);
  strides->set_type(onnx::AttributeProto::FLOAT);
  strides->set_f(2.0f);
  ExpectOneLineError(Parse(b), "ONNX node 'conv' (Conv, opset 13): attribute 'strides' has type FLOAT, expected INTS");
}

TEST(OnnxMalformed, HugeAndNegativeDims) {
  OnnxBuilder b = SeedModel();
  b.graph().mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
  ExpectOneLineError(Parse(b), "initializer 'w'");
  OnnxBuilder c = SeedModel();
  c.graph().mutable_initializer(0)->set_dims(0, -3);
  ExpectOneLineError(Parse(c), "negative dim");
  OnnxBuilder d = SeedModel();
  d.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(
      int64_t{1} << 62);
  ExpectOneLineError(Parse(d), "graph input 'x' has dim");
}

// paddle2onnx writes a dynamic batch as dim_value -1: read as dynamic; -2 is malformed.
TEST(OnnxMalformed, DimValueMinusOneIsDynamic) {
  OnnxBuilder b = SeedModel();
  b.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(-1);
  auto network = CreateINetwork();
  const std::string bytes = b.Bytes();
  Status s = CreateIParser(ModelKind::kOnnx)->ParseFromMemory(network.get(), bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(network->GetInput(0)->GetDimension()[0], -1);
  OnnxBuilder c = SeedModel();
  c.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(-2);
  ExpectOneLineError(Parse(c), "graph input 'x' has dim -2");
}

TEST(OnnxMalformed, DataThatDoesNotMatchItsDims) {
  OnnxBuilder b = SeedModel();
  b.graph().mutable_initializer(1)->add_float_data(1.0f);  // bias: 3 values for dims [2]
  ExpectOneLineError(Parse(b), "float_data holds 3 values, dims need 2");
  OnnxBuilder c = SeedModel();
  auto* w = c.graph().mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(10, '\0'));
  ExpectOneLineError(Parse(c), "raw_data holds 10 bytes");
}

TEST(OnnxMalformed, CyclesDuplicateOutputsAndUnknownOutputs) {
  OnnxBuilder b = SeedModel();
  b.graph().mutable_node(0)->set_input(0, std::string("y"));  // conv now depends on the softmax output
  ExpectOneLineError(Parse(b), "cycle");
  OnnxBuilder c = SeedModel();
  c.graph().mutable_node(1)->set_output(0, std::string("c"));
  ExpectOneLineError(Parse(c), "output 'c' is already defined");
  OnnxBuilder d = SeedModel();
  d.graph().mutable_output(0)->set_name(std::string("nowhere"));
  ExpectOneLineError(Parse(d), "graph output 'nowhere' is never produced");
}

// --- deterministic mutation run

// Damage at the byte level: flips, truncation, insertion, duplication.
std::string MutateBytes(std::string bytes, std::mt19937& rng) {
  const int kind = static_cast<int>(rng() % 4);
  if (bytes.empty()) return bytes;
  std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
  switch (kind) {
    case 0:
      for (int i = 0; i < 1 + static_cast<int>(rng() % 8); ++i) bytes[pos(rng)] ^= static_cast<char>(1 << (rng() % 8));
      break;
    case 1:
      bytes.resize(pos(rng));
      break;
    case 2:
      bytes.insert(pos(rng), std::string(1 + rng() % 8, static_cast<char>(rng())));
      break;
    default: {
      const size_t at = pos(rng), n = std::min<size_t>(bytes.size() - at, 1 + rng() % 64);
      bytes.insert(pos(rng), bytes.substr(at, n));
    }
  }
  return bytes;
}

int64_t EdgeValue(std::mt19937& rng) {
  static const int64_t kValues[] = {-1,        0,        1, 2, 3, 4, 7, 16, -4, int64_t{1} << 31, int64_t{1} << 40,
                                    INT64_MAX, INT64_MIN};
  return kValues[rng() % (sizeof(kValues) / sizeof(kValues[0]))];
}

// Damage at the protobuf level, so mutations reach the importer's own checks.
void MutateFields(onnx::ModelProto* m, std::mt19937& rng) {
  auto* g = m->mutable_graph();
  switch (rng() % 9) {
    case 0: {  // an initializer's dims or type
      auto* t = g->mutable_initializer(static_cast<int>(rng() % g->initializer_size()));
      if (rng() % 2 && t->dims_size() > 0)
        t->set_dims(static_cast<int>(rng() % t->dims_size()), EdgeValue(rng));
      else
        t->set_data_type(static_cast<int32_t>(rng() % 24));
      break;
    }
    case 1: {  // an attribute's value or type
      auto* n = g->mutable_node(static_cast<int>(rng() % g->node_size()));
      if (n->attribute_size() == 0) break;
      auto* a = n->mutable_attribute(static_cast<int>(rng() % n->attribute_size()));
      if (rng() % 2) {
        a->set_type(static_cast<onnx::AttributeProto::AttributeType>(rng() % 14));
      } else {
        a->set_i(EdgeValue(rng));
        for (int k = 0; k < a->ints_size(); ++k) a->set_ints(k, EdgeValue(rng));
      }
      break;
    }
    case 2: {  // rewire an input
      auto* n = g->mutable_node(static_cast<int>(rng() % g->node_size()));
      if (n->input_size() == 0) break;
      const auto& other = g->node(static_cast<int>(rng() % g->node_size()));
      n->set_input(static_cast<int>(rng() % n->input_size()), rng() % 4 ? other.output(0) : std::string());
      break;
    }
    case 3: {  // change an op type (to a mapped op or an unknown one)
      static const char* kOps[] = {"Relu",
                                   "Reshape",
                                   "Slice",
                                   "Pad",
                                   "Resize",
                                   "Gemm",
                                   "MatMul",
                                   "Concat",
                                   "Split",
                                   "Squeeze",
                                   "Unsqueeze",
                                   "Transpose",
                                   "Gather",
                                   "Expand",
                                   "Cast",
                                   "ConstantOfShape",
                                   "Range",
                                   "Where",
                                   "Equal",
                                   "LayerNormalization",
                                   "ConvTranspose",
                                   "MaxPool",
                                   "BatchNormalization",
                                   "Nope"};
      g->mutable_node(static_cast<int>(rng() % g->node_size()))
          ->set_op_type(kOps[rng() % (sizeof(kOps) / sizeof(kOps[0]))]);
      break;
    }
    case 4: {  // an int64 initializer's values (shapes, axes, sizes)
      auto* t = g->mutable_initializer(static_cast<int>(rng() % g->initializer_size()));
      for (int k = 0; k < t->int64_data_size(); ++k) t->set_int64_data(k, EdgeValue(rng));
      break;
    }
    case 5:  // the opset
      m->mutable_opset_import(0)->set_version(static_cast<int64_t>(rng() % 26));
      break;
    case 6: {  // graph input dims
      auto* shape = g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
      auto* d = shape->mutable_dim(static_cast<int>(rng() % shape->dim_size()));
      if (rng() % 3)
        d->set_dim_value(EdgeValue(rng));
      else
        d->set_dim_param("S");
      break;
    }
    case 7: {  // drop a node's output or an attribute
      auto* n = g->mutable_node(static_cast<int>(rng() % g->node_size()));
      if (rng() % 2 && n->attribute_size() > 0)
        n->mutable_attribute()->RemoveLast();
      else if (n->output_size() > 0)
        n->set_output(0, "");
      break;
    }
    default: {  // swap two nodes (order must not matter)
      const int a = static_cast<int>(rng() % g->node_size()), b = static_cast<int>(rng() % g->node_size());
      g->mutable_node()->SwapElements(a, b);
    }
  }
}

TEST(OnnxMalformed, MutationsNeverCrashAndAlwaysExplain) {
  OnnxBuilder seed = SeedModel();
  const std::string bytes = seed.Bytes();
  const onnx::ModelProto base = seed.model();
  std::mt19937 rng(20240611);
  int accepted = 0, rejected = 0;
  auto check = [&](const std::string& data) {
    auto network = CreateINetwork();
    Status s = ParseBytes(data, network.get());
    if (s.ok()) {
      ++accepted;
      EXPECT_TRUE(network->Verify().ok());
      auto builder = CreateIBuilder();
      auto model = builder->BuildModel("mutant", network.get(), nullptr);
      if (!model) {
        EXPECT_FALSE(builder->GetLastStatus().message().empty());
      }
    } else {
      ++rejected;
      EXPECT_FALSE(s.message().empty());
      EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
    }
  };
  for (int i = 0; i < 1500; ++i) check(MutateBytes(bytes, rng));
  for (int i = 0; i < 1500; ++i) {
    onnx::ModelProto m = base;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) MutateFields(&m, rng);
    check(m.SerializeAsString());
  }
  // Both outcomes occur: the mutations reach past the decoder.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 500);
}

}  // namespace
}  // namespace mixq::testing
