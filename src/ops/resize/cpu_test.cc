// The fast Resize kernel is bit-exact with the reference: nearest and linear,
// every coordinate transform and nearest rounding, up- and downsampling, one
// or several resized axes, ranks 1 to 4, NaN and inf in the input; nearest
// integer upsampling through its repeat-and-copy path, on several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "ops/kernel_registry.h"
#include "test_util/op_runner.h"

namespace mixq::testing {
namespace {

TEST(ResizeFast, BitExactWithTheReference) {
  struct Case {
    ir::Shape in;
    std::vector<float> scales;
  };
  const Case cases[] = {{{1, 3, 5, 7}, {1, 1, 2, 2}},
                        {{2, 2, 6, 4}, {1, 1, 0.5f, 1.75f}},
                        {{4, 9}, {1.5f, 0.7f}},
                        {{11}, {2.3f}},
                        {{1, 2, 3, 3}, {1, 2, 1, 1}},
                        {{3, 5}, {1, 1}},
                        // Integer upsampling (a last axis filled by repeats, rows copied from the row before), over
                        // 65536 outputs: split among threads.
                        {{1, 4, 64, 80}, {1, 1, 2, 2}},
                        {{1, 3, 30, 32}, {1, 1, 4, 4}},
                        {{2, 3, 9, 10}, {1, 1, 8, 3}}};
  for (const char* mode : {"nearest", "linear"})
    for (const char* transform : {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"})
      for (const char* nearest : {"round_prefer_floor", "floor", "ceil"})
        for (const Case& c : cases) {
          SCOPED_TRACE(std::string(mode) + " " + transform + " " + nearest + " " + ir::ShapeString(c.in));
          ir::AttrMap a;
          a.Set("scales", c.scales);
          a.Set("mode", std::string(mode));
          a.Set("coordinate_transformation_mode", std::string(transform));
          a.Set("nearest_mode", std::string(nearest));
          std::vector<float> x(static_cast<size_t>(ir::ElementCount(c.in)));
          for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.7f) * 3.0f;
          x[x.size() / 2] = std::numeric_limits<float>::infinity();
          x[0] = std::nanf("");
          const std::vector<std::optional<HostTensor>> in = {HostTensor::F32(c.in, x)};
          std::vector<HostTensor> ref, fast;
          ASSERT_TRUE(RunOp(OpKind::kResize, a, in, 1, &ref, KernelKind::kReference).ok());
          ASSERT_TRUE(RunOp(OpKind::kResize, a, in, 1, &fast, KernelKind::kOptimized).ok());
          ASSERT_EQ(ref[0].shape, fast[0].shape);
          EXPECT_EQ(std::memcmp(ref[0].bytes.data(), fast[0].bytes.data(), ref[0].bytes.size()), 0);
        }
}

// Quantized INT8 and INT16 tensors: nearest resizes gather the integers as
// the reference does; a linear resize is not taken (it would interpolate
// codes).
template <typename T>
void ExpectIntegerNearestIsTheReferenceGather(DataType dtype) {
  const ops::KernelDef* fast = ops::FindKernel(OpKind::kResize, "cpu-fast");
  ASSERT_NE(fast, nullptr);
  ir::QuantBinding q;
  q.bits = dtype == DataType::INT16 ? 16 : 8;
  q.scales = {0.05f};
  q.zero_points = {-7};
  for (const char* mode : {"nearest", "linear"})
    for (const char* transform : {"half_pixel", "asymmetric"}) {
      SCOPED_TRACE(std::string(mode) + " " + transform);
      ir::AttrMap a;
      a.Set("scales", std::vector<float>{1, 1, 2, 1.5f});
      a.Set("mode", std::string(mode));
      a.Set("coordinate_transformation_mode", std::string(transform));
      a.Set("nearest_mode", std::string("round_prefer_floor"));
      const ir::Shape in_shape = {1, 3, 5, 7};
      ops::ValueInfo xi{dtype, in_shape, nullptr, &q, true};
      std::vector<ops::ValueInfo> outs(1);
      ops::ValueInfo xf{DataType::FLOAT32, in_shape};
      ASSERT_TRUE(ops::GetSchema(OpKind::kResize).infer(a, {&xf}, outs).ok());
      outs[0].dtype = dtype;
      outs[0].quant = &q;
      outs[0].narrowed = true;
      std::vector<const ops::ValueInfo*> ins = {&xi};
      const ops::KernelInit init(a, ins, outs);
      const bool nearest = std::string(mode) == "nearest";
      ASSERT_EQ(fast->supports(init), nearest);
      if (!nearest) continue;
      const int range = dtype == DataType::INT16 ? 65536 : 256;
      std::vector<T> x(static_cast<size_t>(ir::ElementCount(in_shape)));
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(static_cast<int>(i * 3719) % range - range / 2);
      std::vector<T> got(static_cast<size_t>(ir::ElementCount(outs[0].shape))), want(got.size());
      ops::RunQuant rq{0.05f, -7};
      for (auto [def, y] : {std::pair{fast, &got}, std::pair{&ops::ReferenceKernel(OpKind::kResize), &want}}) {
        std::unique_ptr<ops::Kernel> kernel;
        ASSERT_TRUE(def->make(init, &kernel).ok());
        ASSERT_TRUE(kernel
                        ->Run({ops::TensorView{dtype, in_shape, x.data(), &rq}},
                              {ops::TensorView{dtype, outs[0].shape, y->data(), &rq}})
                        .ok());
      }
      EXPECT_EQ(got, want);
    }
}

TEST(ResizeFast, Int8NearestIsTheReferenceGather) {
  ExpectIntegerNearestIsTheReferenceGather<int8_t>(DataType::INT8);
}

TEST(ResizeFast, Int16NearestIsTheReferenceGather) {
  ExpectIntegerNearestIsTheReferenceGather<int16_t>(DataType::INT16);
}

}  // namespace
}  // namespace mixq::testing
