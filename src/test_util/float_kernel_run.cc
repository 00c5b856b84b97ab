#include "test_util/float_kernel_run.h"

#include <gtest/gtest.h>

namespace mixq::test_util {

std::vector<float> RunFloatKernel(const ops::KernelDef& def, const ir::AttrMap& attrs, const ir::Shape& shape,
                                  const std::vector<float>& x) {
  ops::ValueInfo xi{DataType::FLOAT32, shape, nullptr, nullptr, false};
  std::vector<ops::ValueInfo> outs = {xi};
  std::vector<const ops::ValueInfo*> ins = {&xi};
  ops::KernelInit init(attrs, ins, outs);
  EXPECT_TRUE(def.supports(init)) << def.name;
  std::unique_ptr<ops::Kernel> kernel;
  EXPECT_TRUE(def.make(init, &kernel).ok());
  std::vector<float> y(x.size());
  if (!kernel) return y;
  EXPECT_TRUE(kernel
                  ->Run({ops::TensorView{DataType::FLOAT32, shape, const_cast<float*>(x.data()), nullptr}},
                        {ops::TensorView{DataType::FLOAT32, shape, y.data(), nullptr}})
                  .ok());
  return y;
}

}  // namespace mixq::test_util
