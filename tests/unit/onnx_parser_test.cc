// ONNX importer: models built in C++ with the ONNX schema, parsed through the
// public IParser, built and run; outputs checked against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "onnx_test_util.h"

namespace mixq::testing {
namespace {

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

std::vector<float> Iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

// Conv (stride 2) -> BatchNormalization -> Relu -> MaxPool -> Flatten -> Gemm
// on a 4x4 ramp; every intermediate value is worked out in the comments.
OnnxBuilder ConvChain() {
  OnnxBuilder b(13);
  b.Input("x", {1, 1, 4, 4}).Output("y");
  // filter 0 sums a 2x2 window; filter 1 is top-left minus bottom-right.
  b.InitFloat("w", {2, 1, 2, 2}, {1, 1, 1, 1, 1, 0, 0, -1});
  b.InitFloat("b", {2}, {0, 1});
  auto* conv = b.Node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  AttrInts(conv, "strides", {2, 2});
  AttrInts(conv, "kernel_shape", {2, 2});
  // conv: channel 0 = 10, 18, 42, 50; channel 1 = -4 everywhere.
  b.InitFloat("scale", {2}, {1, 2});
  b.InitFloat("bias", {2}, {0, 0.5f});
  b.InitFloat("mean", {2}, {10, 0});
  b.InitFloat("var", {2}, {4, 1});
  auto* bn = b.Node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"n"}, "bn");
  AttrFloat(bn, "epsilon", 0.0f);
  // bn: channel 0 = 0, 4, 16, 20; channel 1 = -7.5.
  b.Node("Relu", {"n"}, {"r"}, "relu");
  auto* pool = b.Node("MaxPool", {"r"}, {"p"}, "pool");
  AttrInts(pool, "kernel_shape", {2, 2});
  AttrInts(pool, "strides", {2, 2});
  b.Node("Flatten", {"p"}, {"f"}, "flatten");  // [20, 0]
  b.InitFloat("gw", {3, 2}, {1, 0, 0, 1, 1, 1});
  b.InitFloat("gc", {3}, {0.5f, 0, -1});
  auto* gemm = b.Node("Gemm", {"f", "gw", "gc"}, {"y"}, "fc");
  AttrInt(gemm, "transB", 1);
  AttrFloat(gemm, "alpha", 0.5f);
  AttrFloat(gemm, "beta", 2.0f);
  return b;  // y = 0.5 * [20, 0, 20] + 2 * [0.5, 0, -1] = [11, 0, 8]
}

TEST(OnnxParser, ConvBatchNormPoolGemmMatchHandValues) {
  auto network = CreateINetwork();
  Status s = ParseBytes(ConvChain().Bytes(), network.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(network->FindNodeByName("conv"), nullptr);
  EXPECT_EQ(network->FindNodeByName("fc")->GetOpType(), "FullyConnected");
  EXPECT_EQ(network->GetOutput(0)->GetTensorName(), "y");
  EXPECT_EQ(network->GetOutput(0)->GetDimension(), Dims({1, 3}));
  RunResult r = RunFloat(network.get(), {Dims{1, 1, 4, 4}}, {Iota(16)});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {11, 0, 8}, 1e-5f);
}

TEST(OnnxParser, ParsesFromAFileAndNamesTheFileInErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "mixq_onnx_parser_file";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "chain.onnx").string();
  std::ofstream(path, std::ios::binary) << ConvChain().Bytes();
  auto network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  ASSERT_TRUE(parser->Parse(network.get(), path).ok());
  auto other = CreateINetwork();
  Status missing = parser->Parse(other.get(), (dir / "absent.onnx").string());
  EXPECT_EQ(missing.code(), StatusCode::NOT_FOUND);
  EXPECT_NE(missing.message().find("absent.onnx"), std::string::npos);
  // A network that already holds nodes is refused.
  EXPECT_EQ(parser->Parse(network.get(), path).code(), StatusCode::FAILED_PRECONDITION);
  std::filesystem::remove_all(dir);
}

// Shape -> Gather -> Unsqueeze -> Concat feeding Reshape over a dynamic batch:
// folded to Reshape [0, -1] ("copy dim 0, infer the rest").
OnnxBuilder DynamicFlatten() {
  OnnxBuilder b(13);
  b.Input("x", {-1, 2, 3}).Output("y");
  b.Node("Shape", {"x"}, {"s"});
  b.InitInt64("zero", {}, {0});
  b.InitInt64("axes0", {1}, {0});
  b.InitInt64("minus1", {1}, {-1});
  b.Node("Gather", {"s", "zero"}, {"batch"});
  b.Node("Unsqueeze", {"batch", "axes0"}, {"batch1"});
  auto* cat = b.Node("Concat", {"batch1", "minus1"}, {"target"});
  AttrInt(cat, "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"y"}, "reshape");
  return b;
}

TEST(OnnxParser, FoldsShapeSubgraphsOverSymbolicDims) {
  auto network = CreateINetwork();
  Status s = ParseBytes(DynamicFlatten().Bytes(), network.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(network->GetInput(0)->GetDimension(), Dims({-1, 2, 3}));
  EXPECT_EQ(network->GetOutput(0)->GetDimension(), Dims({-1, 6}));
  // Only the Reshape reaches the network; the shape arithmetic was folded.
  EXPECT_EQ(network->GetAllNodes().size(), 1u);
  RunResult r = RunFloat(network.get(), {Dims{2, 2, 3}}, {Iota(12)});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.dims[0], Dims({2, 6}));
  ExpectNear(r.outputs[0], Iota(12), 0);
}

TEST(OnnxParser, SetInputShapeMakesShapesStatic) {
  auto network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  ASSERT_TRUE(parser->SetInputShape("x", Dims{4, 2, 3}).ok());
  ASSERT_TRUE(ParseBytes(DynamicFlatten().Bytes(), network.get(), parser.get()).ok());
  EXPECT_EQ(network->GetInput(0)->GetDimension(), Dims({4, 2, 3}));
  EXPECT_EQ(network->GetOutput(0)->GetDimension(), Dims({4, 6}));
  // A fixed dim may not be changed, and the input must exist.
  auto bad = CreateIParser(ModelKind::kOnnx);
  ASSERT_TRUE(bad->SetInputShape("x", Dims{4, 5, 3}).ok());
  auto n2 = CreateINetwork();
  Status s = ParseBytes(DynamicFlatten().Bytes(), n2.get(), bad.get());
  EXPECT_NE(s.message().find("dim 1 is fixed to 2"), std::string::npos) << s.ToString();
  auto unknown = CreateIParser(ModelKind::kOnnx);
  ASSERT_TRUE(unknown->SetInputShape("nope", Dims{1}).ok());
  auto n3 = CreateINetwork();
  EXPECT_EQ(ParseBytes(DynamicFlatten().Bytes(), n3.get(), unknown.get()).code(), StatusCode::NOT_FOUND);
}

// Resize whose sizes are Concat(Slice(Shape(x), 0, 2), [4, 6]): nearest
// upsampling of a 2x3 image to 4x6 repeats every pixel twice in each direction.
TEST(OnnxParser, ResizeSizesComputedFromShape) {
  OnnxBuilder b(13);
  b.Input("x", {1, 1, 2, 3}).Output("y");
  b.Node("Shape", {"x"}, {"s"});
  b.InitInt64("st", {1}, {0});
  b.InitInt64("en", {1}, {2});
  b.InitInt64("hw", {2}, {4, 6});
  b.Node("Slice", {"s", "st", "en"}, {"nc"});
  AttrInt(b.Node("Concat", {"nc", "hw"}, {"sizes"}), "axis", 0);
  auto* resize = b.Node("Resize", {"x", "", "", "sizes"}, {"y"}, "resize");
  AttrString(resize, "mode", "nearest");
  AttrString(resize, "coordinate_transformation_mode", "asymmetric");
  AttrString(resize, "nearest_mode", "floor");
  auto network = CreateINetwork();
  Status s = ParseBytes(b.Bytes(), network.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  RunResult r = RunFloat(network.get(), {Dims{1, 1, 2, 3}}, {Iota(6)});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.dims[0], Dims({1, 1, 4, 6}));
  ExpectNear(r.outputs[0], {0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5}, 0);
}

TEST(OnnxParser, ListsEveryUnsupportedOpAtOnce) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4}).Output("z");
  b.Node("Foo", {"x"}, {"a"}, "first");
  b.Node("Relu", {"a"}, {"r"});
  b.Node("DequantizeLinear", {"r"}, {"d"}, "dq");
  auto* custom = b.Node("Bar", {"d"}, {"z"}, "third");
  custom->set_domain("com.example");
  auto network = CreateINetwork();
  Status s = ParseBytes(b.Bytes(), network.get());
  EXPECT_EQ(s.code(), StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.message().find("3 ONNX node(s)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Foo (node 'first', opset 13)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("DequantizeLinear (node 'dq', opset 13)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("com.example.Bar (node 'third'"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

TEST(OnnxParser, AttributeInputsMustBeConstant) {
  OnnxBuilder b(13);
  b.Input("x", {2, 3}).Input("shape", {2}, onnx::TensorProto::INT64).Output("y");
  b.Node("Reshape", {"x", "shape"}, {"y"}, "reshape_by_input");
  auto network = CreateINetwork();
  Status s = ParseBytes(b.Bytes(), network.get());
  EXPECT_EQ(s.code(), StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.message().find("ONNX node 'reshape_by_input' (Reshape, opset 13)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'shape'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("must be a constant"), std::string::npos) << s.message();
}

TEST(OnnxParser, OpsetOutsideTheSupportedRangeIsNamed) {
  OnnxBuilder b(9);
  b.Input("x", {1}).Output("y");
  b.Node("Relu", {"x"}, {"y"});
  auto network = CreateINetwork();
  Status s = ParseBytes(b.Bytes(), network.get());
  EXPECT_EQ(s.code(), StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.message().find("opset 9 is not supported"), std::string::npos) << s.message();
}

TEST(OnnxParser, GraphOutputsThatAliasInputsOrEachOtherGetTheirOwnTensors) {
  OnnxBuilder b(13);
  b.Input("x", {3}).Output("same").Output("relu").Output("alias");
  b.Node("Identity", {"x"}, {"same"});
  b.Node("Relu", {"x"}, {"relu"});
  b.Node("Identity", {"relu"}, {"alias"});
  auto network = CreateINetwork();
  Status s = ParseBytes(b.Bytes(), network.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(network->GetOutputCount(), 3);
  EXPECT_EQ(network->GetOutput(0)->GetTensorName(), "same");
  EXPECT_EQ(network->GetOutput(2)->GetTensorName(), "alias");
  RunResult r = RunFloat(network.get(), {Dims{3}}, {{-1, 0, 2}});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {-1, 0, 2}, 0);
  ExpectNear(r.outputs[1], {0, 0, 2}, 0);
  ExpectNear(r.outputs[2], {0, 0, 2}, 0);
}

TEST(OnnxParser, ReadsExternalDataBesideTheModel) {
  const auto dir = std::filesystem::temp_directory_path() / "mixq_onnx_external";
  std::filesystem::create_directories(dir);
  const std::vector<float> weights = {0, 0, 2, -3};  // 8 bytes of padding, then [2, -3]
  std::ofstream(dir / "weights.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(weights.data()), static_cast<std::streamsize>(weights.size() * 4));
  OnnxBuilder b(13);
  b.Input("x", {2}).Output("y");
  auto* w = b.graph().add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_entry = [&](const char* k, const char* v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add_entry("location", "weights.bin");
  add_entry("offset", "8");
  add_entry("length", "8");
  b.Node("Mul", {"x", "w"}, {"y"});
  const auto path = (dir / "model.onnx").string();
  std::ofstream(path, std::ios::binary) << b.Bytes();

  auto network = CreateINetwork();
  Status s = CreateIParser(ModelKind::kOnnx)->Parse(network.get(), path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  RunResult r = RunFloat(network.get(), {Dims{2}}, {{1.5f, 2}});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {3, -6}, 0);

  // From memory without a folder, and with paths leaving the folder: refused.
  auto n2 = CreateINetwork();
  s = ParseBytes(b.Bytes(), n2.get());
  EXPECT_NE(s.message().find("without a base folder"), std::string::npos) << s.message();
  w->mutable_external_data(0)->set_value("../weights.bin");
  auto n3 = CreateINetwork();
  s = CreateIParser(ModelKind::kOnnx)->ParseFromMemory(n3.get(), b.Bytes().data(), b.Bytes().size(), dir.string());
  EXPECT_NE(s.message().find("may not contain '..'"), std::string::npos) << s.message();
  w->mutable_external_data(0)->set_value("weights.bin");
  w->mutable_external_data(1)->set_value("12");  // 12 + 8 > 16 bytes
  auto n4 = CreateINetwork();
  s = CreateIParser(ModelKind::kOnnx)->ParseFromMemory(n4.get(), b.Bytes().data(), b.Bytes().size(), dir.string());
  EXPECT_EQ(s.code(), StatusCode::OUT_OF_RANGE) << s.ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mixq::testing
