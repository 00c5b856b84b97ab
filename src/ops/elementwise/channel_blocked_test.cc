// The channel form of Elementwise (channel_blocked.h): a blocked tensor (nChw8c,
// nChw16c) and one value per channel, on "cpu-fast" (float32) and
// "avx2-f16" (float16 storage on any side), both operand orders, every op,
// NaN / +-inf / -0.0 among the values, 1 and 3 threads past the parallel
// threshold: bit-identical with the reference on the plain tensors (its
// float16 output rounded, as the Cast after it would). Also the slots it
// offers and the layouts it declines.
#include "ops/elementwise/channel_blocked.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu_features.h"
#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"
#include "util/half.h"

namespace mixq::testing {
namespace {

using ops::KernelDef;
using ops::KernelInit;
using ops::MemoryLayout;
using ops::TensorView;
using ops::ValueInfo;

std::vector<float> Values(int64_t count, int seed, bool half) {
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * 7 + static_cast<size_t>(seed))) * 5.0f;
  const float specials[] = {
      std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), -0.0f, 0.0f,
      70000.0f};
  for (size_t i = 0; i < 6 && i < v.size(); ++i) v[(i * 13 + static_cast<size_t>(seed)) % v.size()] = specials[i];
  if (half)
    for (float& x : v) x = HalfToFloat(FloatToHalf(x));
  return v;
}

// Plain [N, C, P] <-> nChwBc positions.
size_t BlockedAt(int64_t i, int64_t channels, int64_t pixels, int64_t b) {
  const int64_t n = i / (channels * pixels), ch = i / pixels % channels, p = i % pixels;
  return static_cast<size_t>(((n * (channels / b) + ch / b) * pixels + p) * b + ch % b);
}

// The kernel's bytes of `v` (plain order) in `layout`, float16 where asked.
std::vector<uint8_t> Bytes(const std::vector<float>& v, const ir::Shape& shape, MemoryLayout layout, bool half) {
  const int64_t b = ops::BlockChannels(layout), channels = shape.size() == 4 ? shape[1] : 0;
  const int64_t pixels = shape.size() == 4 ? shape[2] * shape[3] : 0;
  std::vector<uint8_t> bytes(v.size() * (half ? 2 : 4));
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t at = b ? BlockedAt(static_cast<int64_t>(i), channels, pixels, b) : i;
    if (half) {
      const uint16_t h = FloatToHalf(v[i]);
      std::memcpy(bytes.data() + at * 2, &h, 2);
    } else {
      std::memcpy(bytes.data() + at * 4, &v[i], 4);
    }
  }
  return bytes;
}

struct Case {
  const char* kernel;
  bool x_half, c_half, y_half;
};

void Check(const Case& k, const char* op, const ir::Shape& shape, const ir::Shape& chan_shape, MemoryLayout layout,
           bool channel_first) {
  const KernelDef* def = ops::FindKernel(OpKind::kElementwise, k.kernel);
  ASSERT_NE(def, nullptr);
  const int64_t count = ir::ElementCount(shape);
  const std::vector<float> x = Values(count, 1, k.x_half), c = Values(ir::ElementCount(chan_shape), 2, k.c_half);
  ir::AttrMap attrs;
  attrs.Set("op", std::string(op));
  // The reference on the plain float32 values.
  std::vector<std::optional<HostTensor>> in = {HostTensor::F32(shape, x), HostTensor::F32(chan_shape, c)};
  if (channel_first) std::swap(in[0], in[1]);
  std::vector<HostTensor> ref;
  ASSERT_TRUE(RunOp(OpKind::kElementwise, attrs, in, 1, &ref, KernelKind::kReference).ok());
  std::vector<float> want(static_cast<size_t>(count));
  std::memcpy(want.data(), ref[0].bytes.data(), want.size() * 4);
  if (k.y_half)
    for (float& v : want) v = HalfToFloat(FloatToHalf(v));
  // The kernel on the blocked bytes.
  auto storage = [](bool half) { return half ? DataType::FLOAT16 : DataType::FLOAT32; };
  ValueInfo xi{storage(k.x_half), shape, nullptr, nullptr, k.x_half, layout};
  ValueInfo ci{storage(k.c_half), chan_shape, nullptr, nullptr, k.c_half, MemoryLayout::kPlain};
  std::vector<ValueInfo> outs = {ValueInfo{storage(k.y_half), shape, nullptr, nullptr, k.y_half, layout}};
  std::vector<const ValueInfo*> ins = {&xi, &ci};
  if (channel_first) std::swap(ins[0], ins[1]);
  KernelInit init(attrs, ins, outs);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<ops::Kernel> kernel;
  ASSERT_TRUE(def->make(init, &kernel).ok());
  std::vector<uint8_t> xb = Bytes(x, shape, layout, k.x_half),
                       cb = Bytes(c, chan_shape, MemoryLayout::kPlain, k.c_half);
  std::vector<uint8_t> yb(static_cast<size_t>(count) * (k.y_half ? 2 : 4));
  std::vector<TensorView> views = {TensorView{storage(k.x_half), shape, xb.data(), nullptr},
                                   TensorView{storage(k.c_half), chan_shape, cb.data(), nullptr}};
  if (channel_first) std::swap(views[0], views[1]);
  ASSERT_TRUE(kernel->Run(views, {TensorView{storage(k.y_half), shape, yb.data(), nullptr}}).ok());
  const std::vector<uint8_t> want_bytes = Bytes(want, shape, layout, k.y_half);
  for (size_t i = 0; i < want.size(); ++i) {
    const size_t at = BlockedAt(static_cast<int64_t>(i), shape[1], shape[2] * shape[3], ops::BlockChannels(layout));
    const size_t w = k.y_half ? 2 : 4;
    ASSERT_EQ(std::memcmp(yb.data() + at * w, want_bytes.data() + at * w, w), 0)
        << k.kernel << " " << op << " element " << i << " want " << want[i];
  }
}

bool HasAvx2() {
  const auto& cpu = kernels::DetectedCpuFeatures();
  return cpu.avx2 && cpu.f16c;
}

constexpr Case kCases[] = {{"cpu-fast", false, false, false},
                           {"avx2-f16", true, true, true},
                           {"avx2-f16", true, false, true},
                           {"avx2-f16", false, true, true},
                           {"avx2-f16", true, true, false}};

TEST(ElementwiseChannelBlocked, BitExactWithTheReference) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2 + F16C";
  const std::pair<ir::Shape, ir::Shape> shapes[] = {
      {{1, 32, 3, 5}, {1, 32, 1, 1}}, {{2, 16, 1, 7}, {16, 1, 1}}, {{1, 48, 4, 4}, {1, 48, 1, 1}}};
  for (const Case& k : kCases)
    for (const char* op : {"add", "sub", "mul", "div", "max", "min"})
      for (const MemoryLayout layout : {MemoryLayout::kBlocked8, MemoryLayout::kBlocked16})
        for (const auto& [shape, chan] : shapes)
          for (const bool channel_first : {false, true}) {
            if (shape[1] % ops::BlockChannels(layout) != 0) continue;
            SCOPED_TRACE(std::string(k.kernel) + " " + op + " " + ir::ShapeString(shape) + " block " +
                         std::to_string(ops::BlockChannels(layout)) + (channel_first ? " channel first" : ""));
            Check(k, op, shape, chan, layout, channel_first);
          }
}

TEST(ElementwiseChannelBlocked, SplitsOverThreadsBitExact) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2 + F16C";
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 3}) {
    omp_set_num_threads(threads);
    for (const Case& k : {kCases[0], kCases[1]})  // 3 x 16 blocks of 6400 pixels: past the parallel threshold
      Check(k, "mul", {1, 48, 80, 80}, {1, 48, 1, 1}, MemoryLayout::kBlocked16, false);
  }
  omp_set_num_threads(saved);
}

TEST(ElementwiseChannelBlocked, SlotsAndLayoutsDeclined) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2 + F16C";
  const KernelDef* def = ops::FindKernel(OpKind::kElementwise, "cpu-fast");
  ASSERT_NE(def, nullptr);
  ir::AttrMap attrs;
  attrs.Set("op", std::string("mul"));
  ValueInfo x{DataType::FLOAT32, {1, 32, 6, 8}, nullptr, nullptr, false};
  ValueInfo c{DataType::FLOAT32, {1, 32, 1, 1}, nullptr, nullptr, false};
  std::vector<ValueInfo> outs = {x};
  std::vector<const ValueInfo*> ins = {&x, &c};
  std::vector<bool> in_slots, out_slots;
  def->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kBlocked16, &in_slots, &out_slots);
  EXPECT_EQ(in_slots, (std::vector<bool>{true, false}));  // the scale stays plain
  EXPECT_EQ(out_slots, std::vector<bool>{true});
  // 24 channels are not whole blocks of 16 (they are of 8).
  ValueInfo x24{DataType::FLOAT32, {1, 24, 6, 8}, nullptr, nullptr, false};
  ValueInfo c24{DataType::FLOAT32, {1, 24, 1, 1}, nullptr, nullptr, false};
  std::vector<ValueInfo> outs24 = {x24};
  std::vector<const ValueInfo*> ins24 = {&x24, &c24};
  def->blocked_slots(KernelInit(attrs, ins24, outs24), MemoryLayout::kBlocked16, &in_slots, &out_slots);
  EXPECT_EQ(out_slots, std::vector<bool>{false});
  def->blocked_slots(KernelInit(attrs, ins24, outs24), MemoryLayout::kBlocked8, &in_slots, &out_slots);
  EXPECT_EQ(out_slots, std::vector<bool>{true});
  // A per-row operand ([1, 1, 6, 1]) is no channel form.
  ValueInfo row{DataType::FLOAT32, {1, 1, 6, 1}, nullptr, nullptr, false};
  std::vector<const ValueInfo*> ins_row = {&x, &row};
  def->blocked_slots(KernelInit(attrs, ins_row, outs), MemoryLayout::kBlocked16, &in_slots, &out_slots);
  EXPECT_EQ(out_slots, std::vector<bool>{false});
  // Assigned layouts the kernel cannot compute in: the full operand plain
  // under a blocked output, or the scale blocked.
  x.layout = MemoryLayout::kPlain;
  outs[0].layout = MemoryLayout::kBlocked16;
  EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs)));
  x.layout = MemoryLayout::kBlocked16;
  c.layout = MemoryLayout::kBlocked16;
  EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs)));
  c.layout = MemoryLayout::kPlain;
  EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs)));
  // pow has no channel form.
  attrs.Set("op", std::string("pow"));
  EXPECT_LT(ops::ChannelBlockedOperand(KernelInit(attrs, ins, outs), MemoryLayout::kBlocked16, false, true), 0);
}

}  // namespace
}  // namespace mixq::testing
