// Sample data for calibration tests (and the reload helper process): an
// in-memory CalibDataInterface with hooks to inject the failures the
// calibrator must report.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mixq/mixq.h"

namespace mixq::testing {

class VectorCalibData : public CalibDataInterface {
 public:
  struct Sample {
    Dims dims;
    std::vector<float> values;
  };
  explicit VectorCalibData(std::vector<Sample> samples) : samples_(std::move(samples)) {}

  Dims GetShape() override { return Current().dims; }
  DataType GetDataType() override { return index_ == bad_type_at ? DataType::INT8 : DataType::FLOAT32; }
  Status Next() override {
    ++next_calls;
    if (index_ + 1 == fail_at) return Status(StatusCode::DATA_LOSS, "disk read failed");
    if (index_ + 1 >= static_cast<int64_t>(samples_.size())) return Status(StatusCode::OUT_OF_RANGE, "end of data");
    ++index_;
    return Status::OK();
  }
  Status Reset() override {
    index_ = -1;
    return Status::OK();
  }
  void* GetSample() override { return index_ == null_at ? nullptr : Current().values.data(); }
  int64_t GetSampleCount() override { return report_count ? static_cast<int64_t>(samples_.size()) : -1; }

  const std::vector<Sample>& samples() const { return samples_; }

  // Failure injection, by sample index (-1: never).
  int64_t fail_at = -1;      // Next() returns DATA_LOSS instead of reaching this sample
  int64_t null_at = -1;      // GetSample() returns null
  int64_t bad_type_at = -1;  // GetDataType() says INT8
  bool report_count = true;
  int64_t next_calls = 0;

 private:
  Sample& Current() { return samples_.at(static_cast<size_t>(index_ < 0 ? 0 : index_)); }
  std::vector<Sample> samples_;
  int64_t index_ = -1;
};

// `count` NHWC images [batch, 16, 16, 3] for the small ResNet: smooth
// random patterns plus noise, so activations look like an image network's
// rather than white noise.
inline std::vector<VectorCalibData::Sample> ImageSamples(int count, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_real_distribution<float> phase(0.0f, 6.28f);
  std::vector<VectorCalibData::Sample> samples;
  for (int s = 0; s < count; ++s) {
    VectorCalibData::Sample sample{Dims({batch, 16, 16, 3}), {}};
    sample.values.reserve(static_cast<size_t>(batch * 16 * 16 * 3));
    for (int64_t b = 0; b < batch; ++b) {
      const float p[3] = {phase(rng), phase(rng), phase(rng)};
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
          for (int c = 0; c < 3; ++c)
            sample.values.push_back(std::sin(0.4f * static_cast<float>(x + c) + p[c]) *
                                        std::cos(0.3f * static_cast<float>(y) + p[(c + 1) % 3]) +
                                    noise(rng));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

// The configuration the end-to-end calibration tests build with.
inline constexpr const char* kQint8MixedFloat32 = R"({"precision_config": {"precision_mode": "qint8_mixed_float32"}})";

}  // namespace mixq::testing
