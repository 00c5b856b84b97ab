#include "test_util/int16_kernel_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace mixq::test_util {

namespace {

// Full-range int16 codes, every 9th an extreme (-32768 or 32767); with a
// limit, codes in [-limit, limit], every 9th an extreme of those.
std::vector<int16_t> Codes(const ir::Shape& shape, std::mt19937* rng, int limit) {
  const int lo = limit ? -limit : -32768, hi = limit ? limit : 32767;
  std::uniform_int_distribution<int> code(lo, hi);
  std::vector<int16_t> v(static_cast<size_t>(ir::ElementCount(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int16_t>(i % 9 == 0 ? (i % 2 ? hi : lo) : code(*rng));
  return v;
}

}  // namespace

std::vector<uint8_t> RunInt16Kernel(const ops::KernelDef& def, const Int16KernelCase& c, uint32_t seed,
                                    std::string* name) {
  std::mt19937 rng(seed);
  std::vector<int16_t> a = Codes(c.a, &rng, c.code_limit), b = Codes(c.b, &rng, c.code_limit);
  if (c.every_code != 0) {
    std::fill(a.begin(), a.end(), c.every_code);
    std::fill(b.begin(), b.end(), c.every_code);
  }
  std::vector<float> bias(static_cast<size_t>(c.bias_size));
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  for (float& v : bias) v = real(rng);
  std::vector<int32_t> int_bias(static_cast<size_t>(c.bias_size));
  std::uniform_int_distribution<int32_t> integer(-(1 << 24), 1 << 24);
  for (int32_t& v : int_bias) v = integer(rng);
  const DataType bias_type = c.int32_bias ? DataType::INT32 : DataType::FLOAT32;
  void* bias_data = c.int32_bias ? static_cast<void*>(int_bias.data()) : static_cast<void*>(bias.data());
  ir::QuantBinding aq, bq, yq;
  aq.bits = bq.bits = yq.bits = 16;
  aq.scales = {1e-4f};
  aq.zero_points = {0};
  bq.axis = c.b_constant ? c.b_channel_axis : -1;
  const int64_t channels = bq.axis >= 0 ? c.b[static_cast<size_t>(bq.axis)] : 1;
  for (int64_t o = 0; o < channels; ++o) {
    bq.scales.push_back(2e-5f * static_cast<float>(o % 7 + 1));
    bq.zero_points.push_back(0);
  }
  yq.symmetric = false;
  yq.scales = {3e-3f};
  yq.zero_points = {-11};
  ops::ValueInfo ai{DataType::INT16, c.a, nullptr, &aq, true};
  ops::ValueInfo bi{DataType::INT16, c.b, c.b_constant ? b.data() : nullptr, &bq, !c.b_constant};
  ops::ValueInfo biasi{bias_type, {c.bias_size}, bias_data, nullptr, false};
  const bool int_out = c.output == DataType::INT16;
  std::vector<ops::ValueInfo> outs = {
      int_out ? ops::ValueInfo{DataType::INT16, c.y, nullptr, &yq, true}
              : ops::ValueInfo{c.output, c.y, nullptr, nullptr, c.output != DataType::FLOAT32}};
  std::vector<const ops::ValueInfo*> ins = {&ai, &bi};
  std::vector<DataType> compute = {DataType::QINT16, DataType::QINT16};
  if (c.bias_size > 0) {
    ins.push_back(&biasi);
    compute.push_back(bias_type);
  }
  ops::KernelInit init(c.attrs, ins, outs, &compute, c.post_ops.empty() ? nullptr : &c.post_ops);
  if (!def.supports(init)) return {};
  std::unique_ptr<ops::Kernel> kernel;
  const Status made = def.make(init, &kernel);
  EXPECT_TRUE(made.ok()) << made.ToString();
  if (!made.ok()) return {};
  *name = kernel->Name();
  std::vector<uint8_t> y(static_cast<size_t>(ir::ElementCount(c.y)) * DataTypeSize(c.output));
  ops::RunQuant ar{1e-4f, 0}, br{2e-5f, 0}, yr{3e-3f, -11};
  std::vector<ops::TensorView> inputs = {{DataType::INT16, c.a, a.data(), &ar},
                                         {DataType::INT16, c.b, b.data(), c.b_constant ? nullptr : &br}};
  if (c.bias_size > 0) inputs.push_back({bias_type, {c.bias_size}, bias_data, nullptr});
  const ops::TensorView yv{c.output, c.y, y.data(), int_out ? &yr : nullptr};
  // Two runs: packed constant weights are reused; an activation b gets new
  // values in the same buffer for the second run (a kernel that kept the
  // first run's packing of it would return stale products).
  for (int run = 0; run < 2; ++run) {
    if (run == 1 && !c.b_constant) {
      const std::vector<int16_t> fresh = Codes(c.b, &rng, c.code_limit);
      std::copy(fresh.begin(), fresh.end(), b.begin());
    }
    EXPECT_TRUE(kernel->Run(inputs, {yv}).ok());
  }
  return y;
}

}  // namespace mixq::test_util
