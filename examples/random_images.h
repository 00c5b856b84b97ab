// A CalibDataInterface over images generated from a fixed seed (uniform in
// [-1, 1)), all of one shape: the sample data of the demo and of tests. A real
// deployment reads its own images here instead.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "mixq/mixq.h"

namespace mixq::examples {

class RandomImages : public CalibDataInterface {
 public:
  RandomImages(Dims dims, int count, uint32_t seed) : dims_(std::move(dims)), count_(count), seed_(seed), rng_(seed) {}
  Dims GetShape() override { return dims_; }
  DataType GetDataType() override { return DataType::FLOAT32; }
  Status Next() override;
  Status Reset() override;
  void* GetSample() override { return sample_.data(); }
  int64_t GetSampleCount() override { return count_; }
  // The current sample as a vector (valid after Next()).
  const std::vector<float>& sample() const { return sample_; }

 private:
  Dims dims_;
  int count_ = 0, done_ = 0;
  uint32_t seed_;
  std::mt19937 rng_;
  std::vector<float> sample_;
};

}  // namespace mixq::examples
