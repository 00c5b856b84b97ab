// Calibration observes tensors in place (ContextImpl::SetStepObserver)
// instead of handing them over as extra network outputs: the statistics must
// be the very same, bit for bit, as the outputs path (kept behind
// CalibrationRun::observe_as_outputs), and the runtime hook must report each
// tensor's values exactly as a network output holds them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../examples/small_resnet.h"
#include "api/builder_config.h"
#include "api/network_impl.h"
#include "calib_test_util.h"
#include "calibration/calib_runner.h"
#include "fusion_test_util.h"
#include "kernels/cpu_features.h"
#include "passes/build_pipeline.h"
#include "runtime/engine.h"
#include "runtime/rt_tensor.h"
#include "util/status_util.h"

namespace mixq::testing {
namespace {

struct Calibrated {
  quant::CalibrationState state;
  Status status;
};

Calibrated Calibrate(const std::string& config_json, bool observe_as_outputs) {
  auto network = CreateINetwork();
  EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  auto config = CreateIBuilderConfig();
  EXPECT_TRUE(config->ParseFromString(config_json).ok()) << config_json;
  const passes::BuildOptions options = dynamic_cast<api::BuilderConfigImpl*>(config.get())->options();
  VectorCalibData data(ImageSamples(6, 4, 23));
  quant::CalibrationRun run;
  run.data = {&data};
  run.observe_as_outputs = observe_as_outputs;
  Calibrated out;
  out.status = quant::RunCalibration(api::ToImpl(network.get())->graph(), options, run, &out.state);
  return out;
}

void ExpectSameStatistics(const std::string& config_json) {
  SCOPED_TRACE(config_json);
  const Calibrated in_place = Calibrate(config_json, false);
  const Calibrated outputs = Calibrate(config_json, true);
  ASSERT_TRUE(in_place.status.ok()) << in_place.status.ToString();
  ASSERT_TRUE(outputs.status.ok()) << outputs.status.ToString();
  ASSERT_EQ(in_place.state.observers.size(), outputs.state.observers.size());
  ASSERT_GE(in_place.state.observers.size(), 4u);
  for (const auto& [name, observer] : outputs.state.observers) {
    SCOPED_TRACE(name);
    ASSERT_EQ(in_place.state.observers.count(name), 1u);
    const quant::ObserverState a = in_place.state.observers.at(name).State(), b = observer.State();
    // 6 samples of 4 images: every tensor seen whole, every sample.
    EXPECT_GT(b.count, 0u);
    EXPECT_EQ(b.count % 6, 0u);
    EXPECT_TRUE(a == b) << "count " << a.count << " vs " << b.count << ", min " << a.min << " vs " << b.min << ", max "
                        << a.max << " vs " << b.max;
  }
  EXPECT_EQ(in_place.state.channels.mean, outputs.state.channels.mean);
  EXPECT_EQ(in_place.state.channels.absmax, outputs.state.channels.absmax);
}

TEST(CalibrationStepObserver, SameStatisticsAsObservingOutputs) {
  ExpectSameStatistics(kQint8MixedFloat32);
  ExpectSameStatistics(R"({"precision_config": {"precision_mode": "qint16_mixed_float32"}})");
}

TEST(CalibrationStepObserver, SameStatisticsWithBiasCorrectionAndSmoothQuant) {
  // Per-channel means (bias correction) and the unsmoothed absmax pass (SmoothQuant).
  const std::string json =
      R"({"precision_config": {"precision_mode": "qint8_mixed_float32", "bias_correction": true,
          "cross_layer_equalization": true, "smooth_quant_alpha": 0.5}})";
  ExpectSameStatistics(json);
  const Calibrated in_place = Calibrate(json, false);
  ASSERT_TRUE(in_place.status.ok()) << in_place.status.ToString();
  EXPECT_FALSE(in_place.state.channels.mean.empty());
  EXPECT_FALSE(in_place.state.channels.absmax.empty());
}

// conv 3x3 8 -> 16 + relu -> conv 3x3 16 -> 16 + that relu's output + relu
// -> conv 1x1 16 -> 8, all NCHW (the small ResNet's NHWC tensors are never
// blocked), input [1, 8, 9, 7].
void BuildNchwConvChain(INetwork* n) {
  auto conv = [&](ITensor* x, int64_t cin, int64_t cout, int64_t k, uint32_t seed) {
    IConvNode* c =
        n->AddIConvNode(x, RandomConst(n, {cout, cin, k, k}, seed, 0.4f), RandomConst(n, {cout}, seed + 1, 0.3f));
    EXPECT_TRUE(c->SetAttr("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2}).ok());
    EXPECT_TRUE(c->SetAttr("input_layout", std::string("NCHW")).ok());
    EXPECT_TRUE(c->SetAttr("output_layout", std::string("NCHW")).ok());
    EXPECT_TRUE(c->SetAttr("filter_layout", std::string("OIHW")).ok());
    return c->GetOutput(0);
  };
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 8, 9, 7}));
  ITensor* r1 = n->AddIActivationNode(conv(x, 8, 16, 3, 1), ActivationType::RELU)->GetOutput(0);
  ITensor* sum = n->AddIElementwiseNode(conv(r1, 16, 16, 3, 3), r1, ElementwiseOp::ADD)->GetOutput(0);
  ITensor* r2 = n->AddIActivationNode(sum, ActivationType::RELU)->GetOutput(0);
  ITensor* y = conv(r2, 16, 8, 1, 5);
  EXPECT_TRUE(y->SetTensorName("y").ok());
  EXPECT_TRUE(n->MarkOutput(y).ok());
}

// The float32 small ResNet (or `build`'s network) for the runtime tests;
// `outputs`: names also marked as network outputs.
std::shared_ptr<const runtime::EngineState> FloatEngine(const std::vector<std::string>& outputs,
                                                        void (*build)(INetwork*) = nullptr) {
  auto network = CreateINetwork();
  if (build)
    build(network.get());
  else
    EXPECT_TRUE(examples::BuildSmallResNet(network.get()).ok());
  ir::Graph graph = api::ToImpl(network.get())->graph();
  for (const std::string& name : outputs) graph.MarkOutput(graph.FindValue(name)->id);
  auto model = std::make_shared<format::ModelData>();
  EXPECT_TRUE(passes::BuildModelData("float", graph, passes::BuildOptions{}, {}, "{}", model.get()).ok());
  std::shared_ptr<const runtime::EngineState> engine;
  EXPECT_TRUE(runtime::MakeEngineState(model, &engine).ok());
  return engine;
}

// Every tensor a node of the float build writes.
std::vector<std::string> NodeOutputs(const ir::Graph& graph) {
  std::vector<std::string> names;
  for (size_t n = 0; n < graph.node_count(); ++n) {
    const ir::Node& node = *graph.node(static_cast<int>(n));
    if (node.op == OpKind::kConstant) continue;
    for (int v : node.outputs) names.push_back(graph.value(v)->name);
  }
  return names;
}

Status RunSample(runtime::ContextImpl* context, const VectorCalibData::Sample& sample,
                 std::vector<std::unique_ptr<IRTTensor>>* outputs) {
  std::vector<std::unique_ptr<IRTTensor>> inputs;
  MIXQ_RETURN_IF_ERROR(context->CreateInputTensors(&inputs));
  MIXQ_RETURN_IF_ERROR(context->CreateOutputTensors(outputs));
  MIXQ_RETURN_IF_ERROR(inputs[0]->SetDimensions(sample.dims));
  MIXQ_RETURN_IF_ERROR(inputs[0]->SetData(const_cast<float*>(sample.values.data()), sample.values.size() * 4));
  return static_cast<IContext*>(context)->Enqueue(inputs, *outputs);
}

// The network outputs of `engine` after a run, by value name.
std::map<std::string, std::vector<float>> OutputsByName(const runtime::EngineState& engine,
                                                        const std::vector<std::unique_ptr<IRTTensor>>& outputs) {
  std::map<std::string, std::vector<float>> by_name;
  for (size_t o = 0; o < outputs.size(); ++o) {
    const IRTTensor& t = *outputs[o];
    const float* p = static_cast<const float*>(t.GetData());
    by_name[engine.graph.value(engine.graph.outputs()[o])->name].assign(p, p + t.GetDimensions().GetElementCount());
  }
  return by_name;
}

TEST(ContextStepObserver, SeesWhatNetworkOutputsHoldInPlaceAndUnfused) {
  const auto plain = FloatEngine({});
  const std::vector<std::string> names = NodeOutputs(plain->graph);
  ASSERT_GE(names.size(), 10u);
  const auto tapped = FloatEngine(names);
  const auto samples = ImageSamples(2, 3, 5);

  // Reference: every tensor handed over as a network output.
  runtime::ContextImpl reference(tapped, ContextOptions{});
  std::vector<std::unique_ptr<IRTTensor>> ref_outputs;
  ASSERT_TRUE(RunSample(&reference, samples[1], &ref_outputs).ok());
  const auto expected = OutputsByName(*tapped, ref_outputs);

  // The plain build, observed in place.
  runtime::ContextImpl context(plain, ContextOptions{});
  std::vector<std::unique_ptr<IRTTensor>> outputs;
  ASSERT_TRUE(RunSample(&context, samples[0], &outputs).ok());
  int fused = 0;
  for (int step : context.plan().fused_into) fused += step >= 0;
  EXPECT_GT(fused, 0);  // conv + relu, conv + add: fused when nothing observes them
  const int64_t plain_arena = context.GetActivationBytes();

  std::vector<int> values;
  for (const std::string& name : names) values.push_back(plain->graph.FindValue(name)->id);
  std::map<std::string, std::vector<float>> seen;
  std::map<std::string, int> calls;
  context.SetStepObserver(values, [&](int value, const ops::TensorView& data, ops::MemoryLayout layout) -> Status {
    const std::string& name = plain->graph.value(value)->name;
    EXPECT_EQ(data.dtype, DataType::FLOAT32) << name;
    EXPECT_EQ(layout, ops::MemoryLayout::kPlain) << name;  // none was given as any_layout
    ++calls[name];
    seen[name].assign(data.Data<float>(), data.Data<float>() + data.Count());
    return Status::OK();
  });
  ASSERT_TRUE(RunSample(&context, samples[1], &outputs).ok());
  for (int step : context.plan().fused_into) EXPECT_EQ(step, -1);  // every tensor is observed: nothing fuses
  EXPECT_EQ(context.plan().steps.size(), reference.plan().steps.size());
  // Tensors die after their last reader instead of living to the end.
  EXPECT_LT(context.GetActivationBytes(), reference.GetActivationBytes());
  EXPECT_GE(context.GetActivationBytes(), plain_arena);
  ASSERT_EQ(seen.size(), names.size());
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(calls[name], 1);
    ASSERT_EQ(seen[name].size(), expected.at(name).size());
    ASSERT_GT(seen[name].size(), 0u);
    EXPECT_EQ(std::memcmp(seen[name].data(), expected.at(name).data(), seen[name].size() * sizeof(float)), 0);
  }

  // An observer error ends Enqueue with it; an empty list turns observing off.
  context.SetStepObserver(
      values, [&](int, const ops::TensorView&, ops::MemoryLayout) -> Status { return DataLoss("observer full"); });
  const Status failed = RunSample(&context, samples[1], &outputs);
  EXPECT_EQ(failed.code(), StatusCode::DATA_LOSS);
  EXPECT_NE(failed.ToString().find("observer full"), std::string::npos) << failed.ToString();
  context.SetStepObserver({}, nullptr);
  ASSERT_TRUE(RunSample(&context, samples[1], &outputs).ok());
  EXPECT_EQ(context.GetActivationBytes(), plain_arena);
}

// Observed "in any layout": tensors between convolutions stay blocked
// (nChw16c / nChw8c) and the observer gets them as stored, with their
// layout; unblocked they are the values a network output holds, bit for bit.
TEST(ContextStepObserver, AnyLayoutTensorsStayBlockedWithTheSameValues) {
  if (!HaveOneDnn()) GTEST_SKIP();
  const auto plain = FloatEngine({}, BuildNchwConvChain);
  std::vector<std::string> names = NodeOutputs(plain->graph);
  names.erase(std::remove(names.begin(), names.end(), std::string("y")), names.end());  // an output: plain
  ASSERT_GE(names.size(), 3u);
  const auto tapped = FloatEngine(names, BuildNchwConvChain);
  VectorCalibData::Sample sample;
  sample.dims = Dims({1, 8, 9, 7});
  sample.values = RandomFloats(8 * 9 * 7, 11, -1.5f, 1.5f);
  // Reference: the tensors as outputs of the plain-layout plan; oneDNN may
  // sum a blocked convolution in another order (its direct blocked kernels
  // against the NHWC brgemm ones on AVX-512), so the blocked values are
  // compared within 1e-5 there, bit for bit elsewhere.
  runtime::ContextImpl reference(tapped, ContextOptions{});
  std::vector<std::unique_ptr<IRTTensor>> ref_outputs;
  ASSERT_TRUE(RunSample(&reference, sample, &ref_outputs).ok());
  const auto expected = OutputsByName(*tapped, ref_outputs);
  runtime::ContextImpl context(plain, ContextOptions{});
  std::vector<int> values;
  for (const std::string& name : names) values.push_back(plain->graph.FindValue(name)->id);
  std::map<std::string, std::vector<float>> seen;
  int blocked = 0;
  context.SetStepObserver(
      values,
      [&](int value, const ops::TensorView& data, ops::MemoryLayout layout) -> Status {
        const std::string& name = plain->graph.value(value)->name;
        const int64_t block = ops::BlockChannels(layout);
        std::vector<float>& v = seen[name];
        v.assign(data.Data<float>(), data.Data<float>() + data.Count());
        if (block > 0) {  // back to plain order
          ++blocked;
          const ir::Shape& s = data.shape;
          EXPECT_EQ(s.size(), 4u);
          EXPECT_EQ(s[1] % block, 0);
          const int64_t plane = s[2] * s[3];
          for (int64_t n = 0; n < s[0]; ++n)
            for (int64_t c = 0; c < s[1]; ++c)
              for (int64_t p = 0; p < plane; ++p)
                v[static_cast<size_t>((n * s[1] + c) * plane + p)] = data.Data<float>()[static_cast<size_t>(
                    ((n * (s[1] / block) + c / block) * plane + p) * block + c % block)];
        }
        return Status::OK();
      },
      values);
  std::vector<std::unique_ptr<IRTTensor>> outputs;
  ASSERT_TRUE(RunSample(&context, sample, &outputs).ok());
  EXPECT_GE(blocked, 2);  // r1 and r2 at least, between convolutions
  ASSERT_EQ(seen.size(), names.size());
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    ASSERT_EQ(seen[name].size(), expected.at(name).size());
    if (kernels::DetectedCpuFeatures().avx512f)
      ExpectClose(seen[name], expected.at(name), 1e-5);
    else
      EXPECT_EQ(std::memcmp(seen[name].data(), expected.at(name).data(), seen[name].size() * sizeof(float)), 0);
  }
}

}  // namespace
}  // namespace mixq::testing
