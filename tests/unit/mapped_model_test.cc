// Model files are mapped and their weights used in place (util/mapped_file.h):
// the same outputs as a model read from memory, the weights' pages out of
// resident memory once loaded and once the kernels packed them, and a model
// file replaced on disk (mixq writes a new file and renames it) does not
// change an engine that maps the old one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "api/model_impl.h"
#include "api_test_util.h"
#include "format/model_file.h"

namespace mixq::testing {
namespace {

// x [1, 256] -> FullyConnected 256 -> 1024 (1 MiB of float32 weights) -> relu
// -> FullyConnected 1024 -> 8 (`scale` scales the second weights).
std::unique_ptr<IModel> BuildMlp(const std::string& mode, float scale = 1.0f) {
  auto network = CreateINetwork();
  ITensor* x = network->AddIInput(DataType::FLOAT32, Dims({1, 256}));
  EXPECT_TRUE(x->SetDynamicRange(Range{-1.0f, 1.0f}, true).ok());
  const auto w1 = RandomFloats(1024 * 256, 1, -0.1f, 0.1f);
  auto w2 = RandomFloats(8 * 1024, 2, -0.1f, 0.1f);
  for (float& w : w2) w *= scale;
  IFullyConnectedNode* fc1 = network->AddIFullyConnectedNode(
      x, network->AddIConstNode(DataType::FLOAT32, Dims({1024, 256}), w1.data())->GetOutput(0), nullptr);
  fc1->SetTransposeB(true);
  IActivationNode* relu = network->AddIActivationNode(fc1->GetOutput(0), ActivationType::RELU);
  relu->GetOutput(0)->SetDynamicRange(Range{0.0f, 4.0f}, true);
  IFullyConnectedNode* fc2 = network->AddIFullyConnectedNode(
      relu->GetOutput(0), network->AddIConstNode(DataType::FLOAT32, Dims({8, 1024}), w2.data())->GetOutput(0), nullptr);
  fc2->SetTransposeB(true);
  network->MarkOutput(fc2->GetOutput(0));
  return BuildOrDie(network.get(), R"({"precision_config": {"precision_mode": ")" + mode + R"("}})");
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/mixq_mapped_" + std::to_string(::getpid()) + "_" + name + ".mixq";
}

// Resident kB of the mapping that holds `p`, from /proc/self/smaps; -1 if none.
int64_t ResidentKb(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find('-') < 16) {
      inside = addr >= lo && addr < hi;
      continue;
    }
    long kb = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) return kb;
  }
  return -1;
}

// The largest constant of a loaded model.
const ir::Buffer* LargestConstant(const IModel& model) {
  const auto* impl = dynamic_cast<const api::ModelImpl*>(&model);
  const ir::Buffer* largest = nullptr;
  for (size_t n = 0; n < impl->data()->graph.node_count(); ++n) {
    const ir::Node& node = *impl->data()->graph.node(static_cast<int>(n));
    if (node.constant && (!largest || node.constant->size() > largest->size())) largest = node.constant.get();
  }
  return largest;
}

// The output's bytes (float32 or, in force_float16, float16).
std::vector<uint8_t> RunModel(const IModel& model) {
  auto context = model.CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  EXPECT_TRUE(context->CreateInputTensors(&in).ok());
  EXPECT_TRUE(context->CreateOutputTensors(&out).ok());
  std::vector<float> x = RandomFloats(256, 3);
  EXPECT_TRUE(in[0]->SetDimensions(Dims({1, 256})).ok());
  EXPECT_TRUE(in[0]->SetData(x.data(), x.size() * sizeof(float)).ok());
  const Status s = context->Enqueue(in, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  const auto* y = static_cast<const uint8_t*>(out[0]->GetData());
  return std::vector<uint8_t>(y, y + 8 * DataTypeSize(out[0]->GetDataType()));
}

TEST(MappedModel, FileModelUsesWeightsInPlaceAndRunsAsFromMemory) {
  for (const std::string mode : {"force_float32", "qint8_mixed_float32", "force_float16"}) {
    auto built = BuildMlp(mode);
    ASSERT_NE(built, nullptr);
    const std::string path = TempPath(mode);
    ASSERT_TRUE(built->SerializeToFile(path).ok());
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(built->SerializeToMemory(&bytes).ok());
    auto from_file = CreateIModel();
    ASSERT_TRUE(from_file->DeserializeFromFile(path).ok());
    auto from_memory = CreateIModel();
    ASSERT_TRUE(from_memory->DeserializeFromMemory(bytes.data(), bytes.size()).ok());
    // float16 files store the weights as float16: kept narrow, in place in
    // the mapping (from memory: copied), widened when a kernel packs them.
    EXPECT_TRUE(LargestConstant(*from_file)->mapped()) << mode;
    EXPECT_FALSE(LargestConstant(*from_memory)->mapped()) << mode;
    EXPECT_EQ(LargestConstant(*from_file)->narrow(), mode == "force_float16") << mode;
    EXPECT_EQ(LargestConstant(*from_memory)->narrow(), mode == "force_float16") << mode;
    const auto a = RunModel(*from_file), b = RunModel(*from_memory), c = RunModel(*built);
    ASSERT_EQ(a.size(), mode == "force_float16" ? 16u : 32u) << mode;
    EXPECT_EQ(a, b) << mode;
    EXPECT_EQ(a, c) << mode;
    std::remove(path.c_str());
  }
}

TEST(MappedModel, WeightPagesLeaveResidentMemory) {
  auto built = BuildMlp("force_float32");
  const std::string path = TempPath("rss");
  ASSERT_TRUE(built->SerializeToFile(path).ok());
  auto model = CreateIModel();
  ASSERT_TRUE(model->DeserializeFromFile(path).ok());
  const ir::Buffer* weights = LargestConstant(*model);
  ASSERT_TRUE(weights->mapped());
  ASSERT_EQ(weights->size(), 1024u * 256u * 4u);
  // Loading read every byte (checksum) and handed the pages back.
  EXPECT_LE(ResidentKb(weights->data()), 64) << "after load";
  // Touching them brings them back: the measurement can see resident pages.
  volatile float sum = 0;
  for (size_t i = 0; i < weights->size() / 4; i += 1024) sum = sum + static_cast<const float*>(weights->data())[i];
  EXPECT_GE(ResidentKb(weights->data()), 1000) << "after touching every page";
  weights->ReleasePages();
  EXPECT_LE(ResidentKb(weights->data()), 64) << "after ReleasePages";
  // A context packs the weights and releases the file's pages step by step.
  auto engine = model->CreateIEngine();
  auto context = engine->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({1, 256})}).ok());
  EXPECT_LE(ResidentKb(weights->data()), 64) << "after Prepare";
  std::remove(path.c_str());
}

// A force_float16 file's weights stay float16 in memory: a context whose
// kernels pack them (the GEMV kernels here) widens them while it is made and
// keeps no float32 copy; a force_reference context, whose kernels read them
// at every run, holds one as long as it lives. data() widens for good.
TEST(MappedModel, Float16WeightsKeepNoFloat32CopyOncePacked) {
  auto built = BuildMlp("force_float16");
  const std::string path = TempPath("narrow");
  ASSERT_TRUE(built->SerializeToFile(path).ok());
  auto model = CreateIModel();
  ASSERT_TRUE(model->DeserializeFromFile(path).ok());
  const ir::Buffer* weights = LargestConstant(*model);
  ASSERT_TRUE(weights->narrow());
  EXPECT_EQ(weights->encoding(), DataType::FLOAT16);
  ASSERT_EQ(weights->size(), 1024u * 256u * 4u);
  EXPECT_FALSE(weights->HoldsWidened()) << "after load";
  EXPECT_LE(ResidentKb(weights->narrow_data()), 64) << "after load";
  EXPECT_EQ(model->GetWeightBytes() * 2, built->GetWeightBytes()) << "held in 16 bits";
  // Saved again: the same bytes, the 16-bit values copied as read.
  std::vector<uint8_t> original, saved;
  ASSERT_TRUE(built->SerializeToMemory(&original).ok());
  ASSERT_TRUE(model->SerializeToMemory(&saved).ok());
  EXPECT_EQ(saved, original);
  EXPECT_FALSE(weights->HoldsWidened()) << "after saving";
  auto engine = model->CreateIEngine();
  const auto fast_output = RunModel(*model);
  auto fast = engine->CreateIContext();
  ASSERT_TRUE(fast->Prepare({Dims({1, 256})}).ok());
  EXPECT_FALSE(weights->HoldsWidened()) << "after a context that packs them";
  EXPECT_LE(ResidentKb(weights->narrow_data()), 64) << "after Prepare";
  {
    ContextOptions reference;
    reference.force_reference = true;
    auto slow = engine->CreateIContext(reference);
    ASSERT_TRUE(slow->Prepare({Dims({1, 256})}).ok());
    EXPECT_TRUE(weights->HoldsWidened()) << "while a reference context reads them";
  }
  EXPECT_FALSE(weights->HoldsWidened()) << "once that context is gone";
  EXPECT_EQ(RunModel(*model), fast_output);
  // data(): every value exactly the float16 one, kept from then on.
  const auto* wide = static_cast<const float*>(weights->data());
  ASSERT_NE(wide, nullptr);
  const auto* narrow = static_cast<const uint8_t*>(weights->narrow_data());
  for (size_t i = 0; i < weights->size() / 4; ++i) {
    uint16_t h;
    std::memcpy(&h, narrow + 2 * i, 2);
    const float expected = HalfToFloat(h);
    ASSERT_EQ(std::memcmp(&wide[i], &expected, 4), 0) << i;
  }
  EXPECT_TRUE(weights->HoldsWidened());
  auto again = engine->CreateIContext();
  ASSERT_TRUE(again->Prepare({Dims({1, 256})}).ok());
  EXPECT_EQ(weights->data(), wide) << "the kept copy is the one pinned";
  std::remove(path.c_str());
}

TEST(MappedModel, ReplacingTheFileLeavesALoadedModelAlone) {
  auto first = BuildMlp("force_float32", 1.0f);
  auto second = BuildMlp("force_float32", -2.0f);
  const std::string path = TempPath("replace");
  ASSERT_TRUE(first->SerializeToFile(path).ok());
  auto model = CreateIModel();
  ASSERT_TRUE(model->DeserializeFromFile(path).ok());
  const auto before = RunModel(*model);
  ASSERT_TRUE(second->SerializeToFile(path).ok());  // a new file renamed over the old name
  LargestConstant(*model)->ReleasePages();          // force reading the weights again
  EXPECT_EQ(RunModel(*model), before);
  auto reloaded = CreateIModel();
  ASSERT_TRUE(reloaded->DeserializeFromFile(path).ok());
  EXPECT_EQ(RunModel(*reloaded), RunModel(*second));
  EXPECT_NE(RunModel(*reloaded), before);
  std::remove(path.c_str());
}

TEST(MappedModel, StreamsAndBadFilesStillReadWithTheSameErrors) {
  auto model = CreateIModel();
  const Status missing = model->DeserializeFromFile(TempPath("missing"));
  EXPECT_EQ(missing.code(), StatusCode::NOT_FOUND) << missing.ToString();
  const Status directory = model->DeserializeFromFile(::testing::TempDir());
  EXPECT_EQ(directory.code(), StatusCode::INVALID_ARGUMENT) << directory.ToString();
  const std::string empty = TempPath("empty");
  { std::ofstream(empty, std::ios::binary); }
  const Status empty_status = model->DeserializeFromFile(empty);  // read, not mapped: the reader says why
  EXPECT_FALSE(empty_status.ok());
  EXPECT_NE(empty_status.message().find(empty), std::string::npos) << empty_status.ToString();
  std::remove(empty.c_str());
}

}  // namespace
}  // namespace mixq::testing
