// Small constants of a model read from a file (biases, scalars: 64 KiB at
// most) get copies of their own in the plan (runtime/lowering.cc,
// CopySmallConstants), so no kernel reads the mapped file at run time: each
// such read mapped in the page-cache folio around it (ResNet-50: 53 of its
// 102 MB of file resident again after one inference). Large weights stay
// where they are (kernels pack them, then their pages are released). The
// numbers are the in-memory model's.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "runtime/engine.h"

namespace mixq::testing {
namespace {

constexpr char kFloat32[] = R"({"precision_config": {"precision_mode": "force_float32"}})";

TEST(ConstantCopies, SmallConstantsOfAMappedFileAreCopiedLargeOnesAreNot) {
  auto network = CreateINetwork();
  INetwork* n = network.get();
  ITensor* x = n->AddIInput(DataType::FLOAT32, Dims({1, 64, 10, 9}));
  // Filter 128 x 64 x 3 x 3: 288 KiB (stays); bias: 512 bytes (copied).
  IConvNode* conv = n->AddIConvNode(x, RandomConst(n, {128, 64, 3, 3}, 1, 0.1f), RandomConst(n, {128}, 2, 0.5f));
  ASSERT_TRUE(conv->SetAttr("pads", std::vector<int64_t>{1, 1, 1, 1}).ok());
  ASSERT_TRUE(conv->SetAttr("input_layout", std::string("NCHW")).ok());
  ASSERT_TRUE(conv->SetAttr("output_layout", std::string("NCHW")).ok());
  ASSERT_TRUE(conv->SetAttr("filter_layout", std::string("OIHW")).ok());
  ASSERT_TRUE(n->MarkOutput(conv->GetOutput(0)).ok());
  auto built = BuildOrDie(n, kFloat32);
  ASSERT_NE(built, nullptr);
  const std::string path = ::testing::TempDir() + "/constant_copies.mixq";
  ASSERT_TRUE(built->SerializeToFile(path).ok());
  auto read = CreateIModel();
  ASSERT_TRUE(read->DeserializeFromFile(path).ok());

  auto context = read->CreateIEngine()->CreateIContext();
  ASSERT_TRUE(context->Prepare({Dims({1, 64, 10, 9})}).ok());
  const runtime::ExecutionPlan& plan = ImplOf(context.get())->plan();
  const ir::Graph& graph = ImplOf(context.get())->graph();
  int copied = 0, kept = 0;
  for (const runtime::PlanBuffer& buf : plan.buffers) {
    if (!buf.info.const_data || buf.value < 0) continue;
    const ir::Value& value = *graph.value(buf.value);
    ASSERT_GE(value.producer, 0);
    const ir::Node& producer = *graph.node(value.producer);
    ASSERT_TRUE(producer.constant) << buf.name;
    const size_t bytes = static_cast<size_t>(ir::ElementCount(buf.info.shape)) * DataTypeSize(buf.info.dtype);
    if (bytes <= 64 * 1024) {
      EXPECT_NE(buf.info.const_data, producer.constant->data()) << buf.name << ": read from the file at run time";
      EXPECT_EQ(std::memcmp(buf.info.const_data, producer.constant->data(), bytes), 0) << buf.name;
      ++copied;
    } else {
      EXPECT_EQ(buf.info.const_data, producer.constant->data()) << buf.name << ": a second copy of large weights";
      ++kept;
    }
  }
  EXPECT_EQ(copied, 1);
  EXPECT_EQ(kept, 1);
  const auto input = RandomFloats(64 * 10 * 9, 3);
  EXPECT_EQ(EnqueueFirst(context.get(), input), RunFirst(built.get(), input));
}

}  // namespace
}  // namespace mixq::testing
