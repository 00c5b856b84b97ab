// Public API: bad input returns a Status naming the culprit and changes nothing.
#include <gtest/gtest.h>

#include "../../examples/seed_network.h"
#include "api_test_util.h"

namespace mixq::testing {
namespace {

void ExpectMessage(const Status& s, StatusCode code, const std::string& needle) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << "'" << needle << "' not in: " << s.message();
}

class SeedRunErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = CreateINetwork();
    ASSERT_TRUE(examples::BuildSeedNetworkFloat(network_.get(), examples::MakeSeedWeights(1)).ok());
    network_->GetInput(0)->SetTensorName("image");
    model_ = BuildOrDie(network_.get());
    ASSERT_NE(model_, nullptr);
    context_ = model_->CreateIEngine()->CreateIContext();
    ASSERT_TRUE(context_->CreateInputTensors(&inputs_).ok());
    ASSERT_TRUE(context_->CreateOutputTensors(&outputs_).ok());
    data_.assign(1 * 8 * 8 * 3, 0.5f);
  }
  std::unique_ptr<INetwork> network_;
  std::unique_ptr<IModel> model_;
  std::unique_ptr<IContext> context_;
  std::vector<std::unique_ptr<IRTTensor>> inputs_, outputs_;
  std::vector<float> data_;
};

TEST_F(SeedRunErrors, WrongInputShapeNamesInputAndDims) {
  ASSERT_TRUE(inputs_[0]->SetDimensions(Dims({1, 8, 8, 4})).ok());
  ASSERT_TRUE(inputs_[0]->SetData(data_.data(), data_.size() * 4).ok());
  Status s = context_->Enqueue(inputs_, outputs_);
  ExpectMessage(s, StatusCode::INVALID_ARGUMENT, "input 'image' has dims [1,8,8,4]");
  EXPECT_NE(s.message().find("[-1,-1,-1,3]"), std::string::npos);
  // Wrong rank too.
  ASSERT_TRUE(inputs_[0]->SetDimensions(Dims({8, 8, 3})).ok());
  ExpectMessage(context_->Enqueue(inputs_, outputs_), StatusCode::INVALID_ARGUMENT, "'image'");
}

TEST_F(SeedRunErrors, WrongDtypeNamesInputAndTypes) {
  auto wrong = CreateIRTTensor(DataType::INT32, "image", Dims({1, 8, 8, 3}));
  std::vector<int32_t> ints(data_.size());
  wrong->SetData(ints.data(), ints.size() * 4);
  Status s = context_->Enqueue({wrong.get()}, {outputs_[0].get()});
  ExpectMessage(s, StatusCode::INVALID_ARGUMENT, "input 'image' must be FLOAT32 data, got INT32");
}

TEST_F(SeedRunErrors, NullDataAndNullTensorAndTooSmallBuffer) {
  ASSERT_TRUE(inputs_[0]->SetDimensions(Dims({1, 8, 8, 3})).ok());
  ExpectMessage(context_->Enqueue(inputs_, outputs_), StatusCode::INVALID_ARGUMENT, "'image' has no data");
  ExpectMessage(inputs_[0]->SetData(nullptr, 16), StatusCode::INVALID_ARGUMENT, "null pointer");
  ExpectMessage(context_->Enqueue({nullptr}, {outputs_[0].get()}), StatusCode::INVALID_ARGUMENT,
                "input 0 ('image') is null");
  ASSERT_TRUE(inputs_[0]->SetData(data_.data(), 16).ok());
  ExpectMessage(context_->Enqueue(inputs_, outputs_), StatusCode::INVALID_ARGUMENT, "holds 16 bytes");
  // Wrong counts.
  ExpectMessage(context_->Enqueue({}, {outputs_[0].get()}), StatusCode::INVALID_ARGUMENT, "has 1 inputs, got 0");
}

TEST_F(SeedRunErrors, UserOutputBufferTooSmall) {
  ASSERT_TRUE(inputs_[0]->SetDimensions(Dims({1, 8, 8, 3})).ok());
  ASSERT_TRUE(inputs_[0]->SetData(data_.data(), data_.size() * 4).ok());
  float tiny[2];
  ASSERT_TRUE(outputs_[0]->SetData(tiny, sizeof(tiny)).ok());
  ExpectMessage(context_->Enqueue(inputs_, outputs_), StatusCode::INVALID_ARGUMENT, "holds 8 bytes");
  // With a big enough user buffer the result lands there.
  std::vector<float> big(1 * 3 * 3 * 16);
  ASSERT_TRUE(outputs_[0]->SetData(big.data(), big.size() * 4).ok());
  ASSERT_TRUE(context_->Enqueue(inputs_, outputs_).ok());
  EXPECT_EQ(outputs_[0]->GetData(), big.data());
  EXPECT_EQ(outputs_[0]->GetDimensions(), Dims({1, 3, 3, 16}));
}

TEST(BuildErrors, UnmarkedOutputIsReported) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  network->AddIActivationNode(x, ActivationType::RELU);
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("m", network.get(), nullptr), nullptr);
  ExpectMessage(builder->GetLastStatus(), StatusCode::FAILED_PRECONDITION, "MarkOutput");
}

TEST(BuildErrors, ShapeMismatchNamesTheNode) {
  auto network = CreateINetwork();
  ITensor* a = network->AddIInput(DataType::FLOAT32, Dims({2, 3}));
  ITensor* b = network->AddIInput(DataType::FLOAT32, Dims({4, 5}));
  IMatMulNode* mm = network->AddIMatMulNode(a, b);
  ASSERT_NE(mm, nullptr);
  mm->SetNodeName("bad_matmul");
  ASSERT_TRUE(network->MarkOutput(mm->GetOutput(0)).ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("m", network.get(), nullptr), nullptr);
  ExpectMessage(builder->GetLastStatus(), StatusCode::INVALID_ARGUMENT, "node 'bad_matmul' (MatMul)");
}

TEST(BuildErrors, NullAndForeignTensorsAreRejectedAtAdd) {
  auto network = CreateINetwork();
  auto other = CreateINetwork();
  ITensor* foreign = other->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  EXPECT_EQ(network->AddIActivationNode(nullptr, ActivationType::RELU), nullptr);
  ExpectMessage(network->GetLastStatus(), StatusCode::INVALID_ARGUMENT, "Activation input 0 (input) is null");
  EXPECT_EQ(network->AddIActivationNode(foreign, ActivationType::RELU), nullptr);
  ExpectMessage(network->GetLastStatus(), StatusCode::INVALID_ARGUMENT, "belongs to another network");
  ExpectMessage(network->MarkOutput(nullptr), StatusCode::INVALID_ARGUMENT, "MarkOutput");
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("m", nullptr, nullptr), nullptr);
  ExpectMessage(builder->GetLastStatus(), StatusCode::INVALID_ARGUMENT, "network is null");
  EXPECT_TRUE(network->GetAllNodes().empty());  // nothing was added by the failed calls
}

TEST(BuildErrors, UnknownAttributeAndWrongTypeAreNamed) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4, 4, 1}));
  IMaxPool2DNode* pool = network->AddIMaxPool2DNode(x, false);
  ExpectMessage(pool->SetAttr("kernal", std::vector<int64_t>{2, 2}), StatusCode::INVALID_ARGUMENT, "'kernal'");
  ExpectMessage(pool->SetAttr("kernel", 3.0f), StatusCode::INVALID_ARGUMENT, "takes ints, got float");
  ExpectMessage(pool->SetPrecision(3, DataType::QINT8), StatusCode::INVALID_ARGUMENT, "index 3 is out of range");
  EXPECT_EQ(network->AddIMaxPool2DNode(x, true), nullptr);
  ExpectMessage(network->GetLastStatus(), StatusCode::UNIMPLEMENTED, "return_index");
}

TEST(ConfigErrors, UnknownKeysAndValuesAreNamed) {
  auto config = CreateIBuilderConfig();
  ExpectMessage(config->ParseFromString(R"({"precision_confg": {}})"), StatusCode::INVALID_ARGUMENT,
                "'precision_confg'");
  ExpectMessage(config->ParseFromString(R"({"precision_config": {"precision_mod": "force_float16"}})"),
                StatusCode::INVALID_ARGUMENT, "precision_config.precision_mod");
  ExpectMessage(config->ParseFromString(R"({"precision_config": {"precision_mode": "int4"}})"),
                StatusCode::INVALID_ARGUMENT, "unknown value 'int4'");
  ExpectMessage(config->ParseFromString(R"({"precision_config": {"precision_mode": 8}})"), StatusCode::INVALID_ARGUMENT,
                "must be a string");
  ExpectMessage(config->ParseFromString("{not json"), StatusCode::INVALID_ARGUMENT, "not valid JSON at byte");
  ExpectMessage(config->ParseFromFile("/nonexistent/cfg.json"), StatusCode::NOT_FOUND, "/nonexistent/cfg.json");
  // A failed parse changes nothing; a good one is reflected in ToJson.
  EXPECT_NE(config->ToJson().find("\"force_float32\""), std::string::npos);
  ASSERT_TRUE(config
                  ->ParseFromString(R"({"precision_config": {"weight_quant_granularity": "per_tensor",
      "custom_ranges": {"x": [-1, 1]}}})")
                  .ok());
  EXPECT_NE(config->ToJson().find("per_tensor"), std::string::npos);
  ExpectMessage(config->ParseFromString(R"({"precision_config": {"custom_ranges": {"x": [2, 1]}}})"),
                StatusCode::INVALID_ARGUMENT, "custom_ranges.x");
}

TEST(ConfigErrors, CustomRangeForUnknownTensorFailsTheBuild) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  network->MarkOutput(network->AddIActivationNode(x, ActivationType::RELU)->GetOutput(0));
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"custom_ranges": {"nope": [-1, 1]}}})").ok());
  auto builder = CreateIBuilder();
  EXPECT_EQ(builder->BuildModel("m", network.get(), config.get()), nullptr);
  ExpectMessage(builder->GetLastStatus(), StatusCode::NOT_FOUND, "nope");
}

TEST(ModelErrors, EmptyModelAndMissingFile) {
  auto model = CreateIModel();
  EXPECT_EQ(model->CreateIEngine(), nullptr);
  ExpectMessage(model->GetLastStatus(), StatusCode::FAILED_PRECONDITION, "empty");
  std::vector<uint8_t> bytes;
  ExpectMessage(model->SerializeToMemory(&bytes), StatusCode::FAILED_PRECONDITION, "empty");
  ExpectMessage(model->DeserializeFromFile("/nonexistent/m.mixq"), StatusCode::NOT_FOUND, "/nonexistent/m.mixq");
  const char junk[] = "definitely not a model";
  EXPECT_FALSE(model->DeserializeFromMemory(junk, sizeof(junk)).ok());
  ExpectMessage(model->DeserializeFromMemory(nullptr, 4), StatusCode::INVALID_ARGUMENT, "null");
}

}  // namespace
}  // namespace mixq::testing

namespace mixq::testing {
namespace {

// Names are bytes from users: invalid UTF-8 must not make the JSON report (or
// anything else) throw through the API.
TEST(ApiErrors, InvalidUtf8NamesDoNotThrow) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 4}));
  ASSERT_TRUE(x->SetTensorName("in\xff\xfe").ok());
  IActivationNode* relu = network->AddIActivationNode(x, ActivationType::RELU);
  ASSERT_TRUE(relu->SetNodeName("relu\xc3").ok());
  ASSERT_TRUE(network->MarkOutput(relu->GetOutput(0)).ok());
  auto model = BuildOrDie(network.get());
  ASSERT_NE(model, nullptr);
  EXPECT_NE(model->GetPrecisionReportJson().find("relu"), std::string::npos);
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(model->SerializeToMemory(&bytes).ok());
  auto loaded = CreateIModel();
  EXPECT_TRUE(loaded->DeserializeFromMemory(bytes.data(), bytes.size()).ok());
  EXPECT_EQ(loaded->GetInputNames().at(0), "in\xff\xfe");
}

}  // namespace
}  // namespace mixq::testing
