// Calibration samples from files: one .npy (one-input models) or .npz (arrays
// named by input) per sample, listed by a folder or a text file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mixq/calibrator.h"
#include "tensors.h"

namespace mixq::cli {

class CalibSamples {
 public:
  // `source`: a folder (every *.npy / *.npz in it, sorted by name) or a text
  // file with one path per line (relative paths from the list's folder; blank
  // lines and lines starting with '#' are skipped).
  Status Open(const std::string& source, std::vector<std::string> input_names, std::vector<DataType> input_types);
  size_t Count() const { return files_.size(); }
  // Loads sample `index` (every input of it); a no-op when already loaded.
  Status Load(size_t index);
  const HostTensor& Tensor(size_t input) const { return tensors_[input]; }

 private:
  std::vector<std::string> files_;
  std::vector<std::string> names_;
  std::vector<DataType> types_;
  std::vector<HostTensor> tensors_;
  int64_t loaded_ = -1;
  bool warned_renamed_array_ = false;
};

// The CalibDataInterface of one network input over shared CalibSamples.
class FileCalibData : public CalibDataInterface {
 public:
  FileCalibData(CalibSamples* samples, size_t input) : samples_(samples), input_(input) {}
  Dims GetShape() override;
  DataType GetDataType() override;
  Status Next() override;
  Status Reset() override;
  void* GetSample() override;
  int64_t GetSampleCount() override { return static_cast<int64_t>(samples_->Count()); }

 private:
  CalibSamples* samples_;
  size_t input_;
  int64_t cursor_ = -1;
};

}  // namespace mixq::cli
