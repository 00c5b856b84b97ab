// Runs engines on the user's samples (CalibDataInterface, one per input) and
// hands back every output as float32 by name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/model_file.h"
#include "mixq/calibrator.h"
#include "mixq/runtime.h"

namespace mixq::analysis {

// Walks the data interfaces in lockstep; at most `max_samples` (-1: all).
class SampleReader {
 public:
  SampleReader(std::vector<CalibDataInterface*> data, int64_t max_samples)
      : data_(std::move(data)), max_samples_(max_samples) {}
  Status Reset();
  // *got = false at the end of the data (OUT_OF_RANGE from the first input).
  Status Next(bool* got);
  int64_t index() const { return index_; }
  // Sets the current sample on `inputs` (from IContext::CreateInputTensors).
  Status Fill(const std::vector<std::unique_ptr<IRTTensor>>& inputs) const;

 private:
  std::vector<CalibDataInterface*> data_;
  int64_t max_samples_;
  int64_t index_ = -1;
};

using FloatTensors = std::map<std::string, std::pair<Dims, std::vector<float>>>;

// An engine and one context over a built model.
class Runner {
 public:
  // With `profile`, every run is timed per step (ContextOptions::profile).
  Status Init(std::shared_ptr<const format::ModelData> model, int num_threads, bool profile = false);
  // Runs the reader's current sample; real-valued outputs (FLOAT32 /
  // FLOAT16 / BFLOAT16) as float32 by name, others left out.
  Status Run(const SampleReader& reader, FloatTensors* outputs);
  // Median wall time in milliseconds of `runs` Enqueue calls on the reader's
  // current sample, after one untimed warm-up run.
  Status Time(const SampleReader& reader, int runs, double* median_ms);
  const IEngine& engine() const { return *engine_; }
  const IContext& context() const { return *context_; }

 private:
  std::unique_ptr<IModel> model_;
  std::unique_ptr<IEngine> engine_;
  std::unique_ptr<IContext> context_;
};

}  // namespace mixq::analysis
