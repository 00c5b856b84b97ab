// The small ResNet in each of the six precision modes (SPEC §2): the report
// matches the mode, the output error against float32 stays within a bound
// computed from the quantization steps and float16's rounding, int8 errs more
// than int16, and an operator-level override beats the network mode.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../../examples/small_resnet.h"
#include "api_test_util.h"
#include "kernels/cpu_features.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

using nlohmann::json;

constexpr int64_t kBatch = 4;

bool Quantizable(const std::string& op) {
  return op == "Conv2D" || op == "FullyConnected" || op == "MatMul" || op == "ConvTranspose2D";
}

// The ResNet with its logits (the FullyConnected output) marked as a second
// output: errors are measured before the softmax squashes them.
std::unique_ptr<INetwork> MakeResNet() {
  auto network = CreateINetwork();
  EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  for (INode* node : network->GetAllNodes())
    if (node->GetOpType() == "FullyConnected") {
      EXPECT_TRUE(network->MarkOutput(node->GetOutput(0)).ok());
    }
  return network;
}

struct Outputs {
  std::vector<float> probabilities, logits;
};

Outputs RunModel(IModel* model, std::vector<float>& input) {
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(Dims({kBatch, 16, 16, 3})).ok());
  EXPECT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  Status s = context->Enqueue(inputs, outputs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  Outputs out;
  for (auto& t : outputs) {
    // Outputs produced in FLOAT16 are handed over as float16.
    const int64_t count = t->GetDimensions().GetElementCount();
    std::vector<float> values(static_cast<size_t>(count));
    if (t->GetDataType() == DataType::FLOAT16) {
      const uint16_t* h = static_cast<const uint16_t*>(t->GetData());
      for (int64_t i = 0; i < count; ++i) values[static_cast<size_t>(i)] = HalfToFloat(h[i]);
    } else if (t->GetDataType() == DataType::BFLOAT16) {
      const uint16_t* h = static_cast<const uint16_t*>(t->GetData());
      for (int64_t i = 0; i < count; ++i) values[static_cast<size_t>(i)] = BFloat16ToFloat(h[i]);
    } else {
      EXPECT_EQ(t->GetDataType(), DataType::FLOAT32);
      const float* y = static_cast<const float*>(t->GetData());
      values.assign(y, y + count);
    }
    (t->GetName() == "probabilities" ? out.probabilities : out.logits) = values;
  }
  return out;
}

// Ranges for every quantized activation, measured on the test batch itself
// with the float network (so nothing is clipped and the steps are known).
std::map<std::string, Range> MeasureRanges(std::vector<float>& input) {
  auto network = MakeResNet();
  std::set<std::string> names;
  for (INode* node : network->GetAllNodes())
    if (Quantizable(node->GetOpType())) names.insert(node->GetInput(0)->GetTensorName());
  for (const auto& name : names) EXPECT_TRUE(network->MarkOutput(network->FindTensorByName(name)).ok());
  auto model = BuildOrDie(network.get());
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  EXPECT_TRUE(context->CreateInputTensors(&inputs).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&outputs).ok());
  EXPECT_TRUE(inputs[0]->SetDimensions(Dims({kBatch, 16, 16, 3})).ok());
  EXPECT_TRUE(inputs[0]->SetData(input.data(), input.size() * sizeof(float)).ok());
  EXPECT_TRUE(context->Enqueue(inputs, outputs).ok());
  std::map<std::string, Range> ranges;
  for (auto& t : outputs) {
    if (!names.count(t->GetName())) continue;
    const float* y = static_cast<const float*>(t->GetData());
    Range r{y[0], y[0]};
    for (int64_t i = 0; i < t->GetDimensions().GetElementCount(); ++i) {
      r.min = std::min(r.min, y[i]);
      r.max = std::max(r.max, y[i]);
    }
    ranges[t->GetName()] = r;
  }
  EXPECT_EQ(ranges.size(), names.size());
  return ranges;
}

struct ModeCase {
  const char* mode;
  int bits;               // 0: no quantization
  bool float16;           // everything else stored as float16
  bool bfloat16 = false;  // ... as bfloat16 (force_bfloat16)
};

struct ModeResult {
  double max_abs_logit_error = 0, max_abs_prob_error = 0, bound = 0;
};

class PrecisionModes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    input_ = new std::vector<float>(RandomFloats(static_cast<size_t>(kBatch * 16 * 16 * 3), 11));
    ranges_ = new std::map<std::string, Range>(MeasureRanges(*input_));
    auto network = MakeResNet();
    auto model = BuildOrDie(network.get());
    reference_ = new Outputs(RunModel(model.get(), *input_));
  }
  static void TearDownTestSuite() {
    delete input_;
    delete ranges_;
    delete reference_;
  }

  // Builds the ResNet in `mode` with the measured ranges, checks the report,
  // and measures the error against float32.
  static ModeResult RunMode(const ModeCase& c) {
    auto network = MakeResNet();
    for (const auto& [name, range] : *ranges_)
      EXPECT_TRUE(network->FindTensorByName(name)->SetDynamicRange(range, true).ok());
    auto model =
        BuildOrDie(network.get(), std::string(R"({"precision_config": {"precision_mode": ")") + c.mode + "\"}}");
    if (!model) return {};
    const DataType quantized = c.bits == 8 ? DataType::QINT8 : DataType::QINT16;
    const std::string floating = c.float16 ? "FLOAT16" : c.bfloat16 ? "BFLOAT16" : "FLOAT32";
    const json report = json::parse(model->GetPrecisionReportJson());
    EXPECT_EQ(report["precision_mode"], c.mode);
    int quantized_layers = 0, float_ops = 0;
    for (const auto& node : report["nodes"]) {
      const std::string op = node["op"];
      for (size_t i = 0; i < node["inputs"].size(); ++i) {
        const auto& in = node["inputs"][i];
        const bool q = c.bits && Quantizable(op) && i < 2;
        const std::string expected = q ? DataTypeName(quantized) : floating;
        EXPECT_EQ(in["actual"], expected) << node["node"] << " input " << i;
        EXPECT_EQ(in["requested"], expected) << node["node"] << " input " << i;
      }
      for (const auto& out : node["outputs"]) EXPECT_EQ(out["actual"], floating) << node["node"];
      EXPECT_EQ(node["reason"], "") << node["node"];
      quantized_layers += c.bits && Quantizable(op) ? 1 : 0;
      ++float_ops;
    }
    Outputs got = RunModel(model.get(), *input_);
    ModeResult r;
    double max_logit = 0;
    for (size_t i = 0; i < got.logits.size(); ++i) {
      r.max_abs_logit_error = std::max(r.max_abs_logit_error, std::fabs(double(got.logits[i]) - reference_->logits[i]));
      max_logit = std::max(max_logit, std::fabs(double(reference_->logits[i])));
    }
    for (size_t i = 0; i < got.probabilities.size(); ++i)
      r.max_abs_prob_error =
          std::max(r.max_abs_prob_error, std::fabs(double(got.probabilities[i]) - reference_->probabilities[i]));
    // The bound, to first order: every quantized layer adds a relative error
    // of at most half a step of its input plus half a step of its weights
    // (symmetric: step / max|x| = 1 / p), and every float16 op boundary a
    // relative rounding of at most 2^-11; BatchNorm and the residual sums keep
    // relative errors from growing. Twice that leaves room for the second-
    // order terms and for tensors whose own range is below the layer's.
    double relative = 0;
    if (c.bits) relative += quantized_layers * (1.0 / ((1 << (c.bits - 1)) - 1));
    if (c.float16) relative += float_ops * std::ldexp(1.0, -11);
    // bfloat16: 2^-8 per boundary; the convolutions computed in bfloat16
    // (onednn-bf16) round once per fused step, which only removes terms.
    if (c.bfloat16) relative += float_ops * std::ldexp(1.0, -8);
    r.bound = 2.0 * relative * max_logit;
    EXPECT_GT(got.logits.size(), 0u);
    return r;
  }

  static std::vector<float>* input_;
  static std::map<std::string, Range>* ranges_;
  static Outputs* reference_;
};

std::vector<float>* PrecisionModes::input_ = nullptr;
std::map<std::string, Range>* PrecisionModes::ranges_ = nullptr;
Outputs* PrecisionModes::reference_ = nullptr;

TEST_F(PrecisionModes, EverySixModesRunsWithinItsStepBound) {
  const ModeCase cases[] = {
      {"force_float32", 0, false},        {"force_float16", 0, true},          {"qint8_mixed_float32", 8, false},
      {"qint8_mixed_float16", 8, true},   {"qint16_mixed_float32", 16, false}, {"qint16_mixed_float16", 16, true},
      {"force_bfloat16", 0, false, true},
  };
  std::map<std::string, ModeResult> results;
  for (const ModeCase& c : cases) {
    ModeResult r = RunMode(c);
    results[c.mode] = r;
    if (c.bits == 0 && !c.float16 && !c.bfloat16) {
      EXPECT_EQ(r.max_abs_logit_error, 0.0) << "force_float32 must equal the float32 build";
    } else {
      EXPECT_GT(r.max_abs_logit_error, 0.0) << c.mode << " changed nothing: was anything quantized or rounded?";
      EXPECT_LE(r.max_abs_logit_error, r.bound) << c.mode;
    }
    // Softmax's Jacobian has rows of absolute sum <= 1/2.
    EXPECT_LE(r.max_abs_prob_error, 0.5 * r.max_abs_logit_error + 1e-6) << c.mode;
    std::printf("[ mode     ] %-22s max|logit err| %.3g (bound %.3g)  max|prob err| %.3g\n", c.mode,
                r.max_abs_logit_error, r.bound, r.max_abs_prob_error);
  }
  EXPECT_GT(results["qint8_mixed_float32"].max_abs_logit_error, results["qint16_mixed_float32"].max_abs_logit_error);
  EXPECT_GT(results["qint8_mixed_float16"].max_abs_logit_error, results["qint16_mixed_float16"].max_abs_logit_error);
  // bfloat16 keeps 8 significant bits to float16's 11.
  EXPECT_GT(results["force_bfloat16"].max_abs_logit_error, results["force_float16"].max_abs_logit_error);
}

// The seed's pattern: network qint8_mixed_float32, one conv forced back to
// FLOAT32, one relu producing FLOAT16. Node settings win; nothing else moves.
TEST_F(PrecisionModes, OperatorOverridesBeatTheNetworkMode) {
  auto network = MakeResNet();
  for (const auto& [name, range] : *ranges_)
    ASSERT_TRUE(network->FindTensorByName(name)->SetDynamicRange(range, true).ok());
  INode* first_conv = nullptr;
  INode* first_relu = nullptr;
  for (INode* node : network->GetAllNodes()) {
    if (!first_conv && node->GetOpType() == "Conv2D") first_conv = node;
    if (!first_relu && node->GetOpType() == "Activation") first_relu = node;
  }
  ASSERT_TRUE(first_conv && first_relu);
  ASSERT_TRUE(first_conv->SetPrecision(0, DataType::FLOAT32).ok());
  ASSERT_TRUE(first_conv->SetPrecision(1, DataType::FLOAT32).ok());
  ASSERT_TRUE(first_relu->SetOutputType(0, DataType::FLOAT16).ok());
  auto model = BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  ASSERT_NE(model, nullptr);
  const json report = json::parse(model->GetPrecisionReportJson());
  int quantized_convs = 0;
  for (const auto& node : report["nodes"]) {
    const std::string name = node["node"];
    if (name == first_conv->GetNodeName()) {
      EXPECT_EQ(node["inputs"][0]["actual"], "FLOAT32");
      EXPECT_EQ(node["inputs"][0]["requested_by"], "node");
      EXPECT_EQ(node["inputs"][1]["actual"], "FLOAT32");
    } else if (node["op"] == "Conv2D") {
      EXPECT_EQ(node["inputs"][0]["actual"], "QINT8") << name;
      EXPECT_EQ(node["inputs"][0]["requested_by"], "network") << name;
      ++quantized_convs;
    }
    if (name == first_relu->GetNodeName()) {
      EXPECT_EQ(node["outputs"][0]["actual"], "FLOAT16");
      EXPECT_EQ(node["outputs"][0]["requested_by"], "node");
    } else {
      EXPECT_EQ(node["outputs"][0]["actual"], "FLOAT32") << name;
    }
  }  // The plan for a concrete shape runs that conv on a float32 kernel again
     // (3 -> 8 channels, channels-last: the direct NHWC kernel's).
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({kBatch, 16, 16, 3})}).ok());
  const json plan = json::parse(context->GetPrecisionReportJson());
  bool seen = false;
  for (const auto& node : plan["nodes"])
    if (node["node"] == first_conv->GetNodeName()) {
      EXPECT_NE(node["kernel"].get<std::string>().find("-f32-direct"), std::string::npos) << node["kernel"];
      seen = true;
    }
  EXPECT_TRUE(seen);

  EXPECT_EQ(quantized_convs, 5);  // the ResNet has 6 convolutions
  // The override changes the numbers: the first conv now computes in float.
  Outputs got = RunModel(model.get(), *input_);
  auto plain = MakeResNet();
  for (const auto& [name, range] : *ranges_)
    ASSERT_TRUE(plain->FindTensorByName(name)->SetDynamicRange(range, true).ok());
  auto plain_model = BuildOrDie(plain.get(), R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})");
  Outputs all_int8 = RunModel(plain_model.get(), *input_);
  EXPECT_NE(got.logits, all_int8.logits);
}

// force_bfloat16 computes the convolutions in bfloat16 (onednn-bf16) where
// the CPU has bfloat16 dot products, and keeps the storage semantics on
// float32 kernels elsewhere; the report names the kernel either way.
TEST_F(PrecisionModes, BFloat16ConvolutionsRunOnBFloat16KernelsWhereTheCpuHasThem) {
  auto network = MakeResNet();
  auto config = CreateIBuilderConfig();
  ASSERT_TRUE(config->ParseFromString(R"({"precision_config": {"precision_mode": "force_bfloat16"}})").ok());
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("bf16", network.get(), config.get());
  ASSERT_NE(model, nullptr) << builder->GetLastStatus().ToString();
  // Without bfloat16 dot products the build says the mode will be slow here.
  const std::vector<std::string> warnings = builder->GetWarnings();
  if (kernels::DetectedCpuFeatures().avx512bf16) {  // the CPU's features, whatever MIXQ_MAX_ISA caps
    EXPECT_TRUE(warnings.empty()) << warnings[0];
  } else {
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("AVX512_BF16"), std::string::npos) << warnings[0];
  }
  auto context = model->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({kBatch, 16, 16, 3})}).ok());
  const json plan = json::parse(context->GetPrecisionReportJson());
  // The kernels: where MIXQ_MAX_ISA leaves AVX-512 to them.
  const bool native = kernels::DetectedCpuFeatures().avx512bf16 && kernels::BestIsa() >= kernels::Isa::kAvx512;
  int convs = 0;
  for (const auto& node : plan["nodes"]) {
    if (node["op"] != "Conv2D") continue;
    ++convs;
    EXPECT_EQ(node["kernel"] == "onednn-bf16", native) << node["node"] << " runs " << node["kernel"];
    EXPECT_EQ(node["outputs"][0]["actual"], "BFLOAT16") << node["node"];
  }
  EXPECT_EQ(convs, 6);
}

}  // namespace
}  // namespace mixq::testing
