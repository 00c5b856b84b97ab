// The channels-last bfloat16 forms that keep a squeeze-excitation block in
// the bfloat16 convolutions' layout: Elementwise "avx2-bf16" between an
// [N, C, H, W] tensor stored [N, H, W, C] and one value per channel (every
// op, both operand orders, a bfloat16 or float32 per-channel operand,
// channel counts with 8-lane tails, NaN / inf / -0.0 among the values, 1 and
// 3 threads), and GlobalAvgPool "avx2-bf16" over such a tensor: bit for bit
// the reference on the plain tensors, rounded to bfloat16 as the storage
// rounds. Also the slots offered and what is declined.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu_features.h"
#include "ops/elementwise/channel_blocked.h"
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

// bfloat16 values (NaN, infinities, zeros of both signs, a large one among them).
std::vector<float> Values(int64_t count, int seed) {
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i * 7 + static_cast<size_t>(seed))) * 5.0f;
  const float specials[] = {
      std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), -0.0f, 0.0f,
      3.0e38f};
  for (size_t i = 0; i < 6 && i < v.size(); ++i) v[(i * 13 + static_cast<size_t>(seed)) % v.size()] = specials[i];
  for (float& x : v) x = RoundToBFloat16(x);
  return v;
}

// bfloat16 bits of plain [N, C, H, W] values, channels-last when asked.
std::vector<uint16_t> Bits(const std::vector<float>& v, const ir::Shape& s, bool channels_last) {
  std::vector<uint16_t> b(v.size());
  const int64_t c = s[1], pixels = s[2] * s[3];
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t n = static_cast<int64_t>(i) / (c * pixels), ch = static_cast<int64_t>(i) / pixels % c,
                  p = static_cast<int64_t>(i) % pixels;
    const size_t at = channels_last ? static_cast<size_t>((n * pixels + p) * c + ch) : i;
    b[at] = FloatToBFloat16(v[i]);
  }
  return b;
}

bool HasAvx2() {
  return kernels::DetectedCpuFeatures().avx2;
}

void CheckElementwise(const char* op, const ir::Shape& shape, const ir::Shape& chan_shape, bool channel_first,
                      bool chan_bf16) {
  const KernelDef* def = ops::FindKernel(OpKind::kElementwise, "avx2-bf16");
  ASSERT_NE(def, nullptr);
  const int64_t count = ir::ElementCount(shape);
  const std::vector<float> x = Values(count, 1), c = Values(ir::ElementCount(chan_shape), 2);
  ir::AttrMap attrs;
  attrs.Set("op", std::string(op));
  std::vector<std::optional<HostTensor>> in = {HostTensor::F32(shape, x), HostTensor::F32(chan_shape, c)};
  if (channel_first) std::swap(in[0], in[1]);
  std::vector<HostTensor> ref;
  ASSERT_TRUE(RunOp(OpKind::kElementwise, attrs, in, 1, &ref, KernelKind::kReference).ok());
  std::vector<float> want(static_cast<size_t>(count));
  std::memcpy(want.data(), ref[0].bytes.data(), want.size() * 4);
  const std::vector<uint16_t> want_bits = Bits(want, shape, true);

  ValueInfo xi{DataType::BFLOAT16, shape, nullptr, nullptr, true, MemoryLayout::kChannelsLast};
  ValueInfo ci = chan_bf16 ? ValueInfo{DataType::BFLOAT16, chan_shape, nullptr, nullptr, true, MemoryLayout::kPlain}
                           : ValueInfo{DataType::FLOAT32, chan_shape, nullptr, nullptr, false, MemoryLayout::kPlain};
  std::vector<ValueInfo> outs = {
      ValueInfo{DataType::BFLOAT16, shape, nullptr, nullptr, true, MemoryLayout::kChannelsLast}};
  std::vector<const ValueInfo*> ins = {&xi, &ci};
  if (channel_first) std::swap(ins[0], ins[1]);
  KernelInit init(attrs, ins, outs);
  ASSERT_TRUE(def->supports(init));
  std::unique_ptr<ops::Kernel> kernel;
  ASSERT_TRUE(def->make(init, &kernel).ok());
  std::vector<uint16_t> xb = Bits(x, shape, true),
                        cb = Bits(c, {1, chan_shape.size() == 4 ? chan_shape[1] : chan_shape[0], 1, 1}, false);
  std::vector<uint16_t> yb(static_cast<size_t>(count));
  std::vector<TensorView> views = {
      TensorView{DataType::BFLOAT16, shape, xb.data(), nullptr},
      chan_bf16 ? TensorView{DataType::BFLOAT16, chan_shape, cb.data(), nullptr}
                : TensorView{DataType::FLOAT32, chan_shape, const_cast<float*>(c.data()), nullptr}};
  if (channel_first) std::swap(views[0], views[1]);
  ASSERT_TRUE(kernel->Run(views, {TensorView{DataType::BFLOAT16, shape, yb.data(), nullptr}}).ok());
  for (size_t i = 0; i < yb.size(); ++i) {
    const bool nan = std::isnan(BFloat16ToFloat(want_bits[i]));
    if (nan) {
      ASSERT_TRUE(std::isnan(BFloat16ToFloat(yb[i]))) << op << " at " << i;
      continue;
    }
    ASSERT_EQ(yb[i], want_bits[i]) << op << " at " << i << ": " << BFloat16ToFloat(yb[i]) << " vs "
                                   << BFloat16ToFloat(want_bits[i]);
  }
}

TEST(ElementwiseChannelsLastBFloat16, BitExactWithTheReference) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2";
  const std::pair<ir::Shape, ir::Shape> shapes[] = {
      {{1, 32, 3, 5}, {1, 32, 1, 1}}, {{2, 13, 1, 7}, {13, 1, 1}}, {{1, 60, 4, 4}, {1, 60, 1, 1}}};
  for (const char* op : {"add", "sub", "mul", "div", "max", "min"})
    for (const auto& [shape, chan] : shapes)
      for (const bool channel_first : {false, true})
        for (const bool chan_bf16 : {true, false}) {
          SCOPED_TRACE(std::string(op) + " " + ir::ShapeString(shape) + (channel_first ? " channel first" : "") +
                       (chan_bf16 ? " bfloat16 scale" : " float32 scale"));
          CheckElementwise(op, shape, chan, channel_first, chan_bf16);
        }
}

TEST(ElementwiseChannelsLastBFloat16, SplitsOverThreadsBitExact) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2";
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 3}) {
    omp_set_num_threads(threads);
    CheckElementwise("mul", {1, 240, 24, 80}, {1, 240, 1, 1}, false, true);  // past the parallel threshold
  }
  omp_set_num_threads(saved);
}

TEST(ElementwiseChannelsLastBFloat16, SlotsAndLayoutsDeclined) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2";
  const KernelDef* def = ops::FindKernel(OpKind::kElementwise, "avx2-bf16");
  ASSERT_NE(def, nullptr);
  ASSERT_NE(def->blocked_slots, nullptr);
  ir::AttrMap attrs;
  attrs.Set("op", std::string("mul"));
  ValueInfo x{DataType::BFLOAT16, {1, 24, 6, 8}, nullptr, nullptr, true};
  ValueInfo c{DataType::BFLOAT16, {1, 24, 1, 1}, nullptr, nullptr, true};
  std::vector<ValueInfo> outs = {x};
  std::vector<const ValueInfo*> ins = {&x, &c};
  std::vector<bool> in_slots, out_slots;
  def->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kChannelsLast, &in_slots, &out_slots);
  EXPECT_EQ(in_slots, (std::vector<bool>{true, false}));  // the scale stays plain
  EXPECT_EQ(out_slots, std::vector<bool>{true});
  // bfloat16 tensors are never blocked in nChw16c.
  def->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kBlocked16, &in_slots, &out_slots);
  EXPECT_EQ(out_slots, std::vector<bool>{false});
  // A per-row operand ([1, 1, 6, 1]) is no channel form.
  ValueInfo row{DataType::BFLOAT16, {1, 1, 6, 1}, nullptr, nullptr, true};
  std::vector<const ValueInfo*> ins_row = {&x, &row};
  def->blocked_slots(KernelInit(attrs, ins_row, outs), MemoryLayout::kChannelsLast, &in_slots, &out_slots);
  EXPECT_EQ(out_slots, std::vector<bool>{false});
  // Assigned layouts it cannot compute in: the full operand plain under a
  // channels-last output, or the scale channels-last.
  outs[0].layout = MemoryLayout::kChannelsLast;
  EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs)));
  x.layout = MemoryLayout::kChannelsLast;
  c.layout = MemoryLayout::kChannelsLast;
  EXPECT_FALSE(def->supports(KernelInit(attrs, ins, outs)));
  c.layout = MemoryLayout::kPlain;
  EXPECT_TRUE(def->supports(KernelInit(attrs, ins, outs)));
  // pow has no channel form.
  attrs.Set("op", std::string("pow"));
  EXPECT_LT(ops::ChannelsLastOperand(KernelInit(attrs, ins, outs), true), 0);
}

// GlobalAvgPool "avx2-bf16" over an NCHW op's tensor stored channels-last:
// the same bfloat16 means as over the plain tensor (channel counts with
// 16- and 8-lane tails, 1 and 3 threads).
TEST(GlobalAvgPoolChannelsLastBFloat16, SameBitsAsPlain) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2";
  const KernelDef* def = ops::FindKernel(OpKind::kGlobalAvgPool, "avx2-bf16");
  ASSERT_NE(def, nullptr);
  ASSERT_NE(def->blocked_slots, nullptr);
  const int saved = omp_get_max_threads();
  for (const ir::Shape& shape :
       {ir::Shape{1, 240, 6, 80}, ir::Shape{2, 37, 5, 3}, ir::Shape{1, 60, 1, 1}, ir::Shape{1, 480, 12, 80}})
    for (const int threads : {1, 3}) {
      omp_set_num_threads(threads);
      SCOPED_TRACE(ir::ShapeString(shape) + " threads " + std::to_string(threads));
      std::vector<float> x = Values(ir::ElementCount(shape), 3);
      for (float& v : x)
        if (!std::isfinite(v) || std::fabs(v) > 1e30f) v = 1.5f;  // finite means to compare
      ir::AttrMap attrs;
      attrs.Set("layout", std::string("NCHW"));
      const ir::Shape out_shape = {shape[0], shape[1], 1, 1};
      std::vector<uint16_t> got[2];
      for (const bool channels_last : {false, true}) {
        ValueInfo xi{DataType::BFLOAT16,
                     shape,
                     nullptr,
                     nullptr,
                     true,
                     channels_last ? MemoryLayout::kChannelsLast : MemoryLayout::kPlain};
        std::vector<ValueInfo> outs = {ValueInfo{DataType::BFLOAT16, out_shape, nullptr, nullptr, true}};
        std::vector<const ValueInfo*> ins = {&xi};
        KernelInit init(attrs, ins, outs);
        if (channels_last) {
          std::vector<bool> in_slots, out_slots;
          def->blocked_slots(KernelInit(attrs, ins, outs), MemoryLayout::kChannelsLast, &in_slots, &out_slots);
          EXPECT_EQ(in_slots, std::vector<bool>{true});
        }
        ASSERT_TRUE(def->supports(init));
        std::unique_ptr<ops::Kernel> kernel;
        ASSERT_TRUE(def->make(init, &kernel).ok());
        std::vector<uint16_t> xb = Bits(x, shape, channels_last);
        got[channels_last].resize(static_cast<size_t>(ir::ElementCount(out_shape)));
        ASSERT_TRUE(kernel
                        ->Run({TensorView{DataType::BFLOAT16, shape, xb.data(), nullptr}},
                              {TensorView{DataType::BFLOAT16, out_shape, got[channels_last].data(), nullptr}})
                        .ok());
      }
      EXPECT_EQ(got[0], got[1]);
      // And the reference's means, rounded to bfloat16.
      std::vector<HostTensor> ref;
      ASSERT_TRUE(
          RunOp(OpKind::kGlobalAvgPool, attrs, {HostTensor::F32(shape, x)}, 1, &ref, KernelKind::kReference).ok());
      for (size_t i = 0; i < got[1].size(); ++i) {
        float want;
        std::memcpy(&want, ref[0].bytes.data() + i * 4, 4);
        EXPECT_EQ(got[1][i], FloatToBFloat16(want)) << i;
      }
    }
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace mixq::testing
