#include "analysis/sample_runner.h"

#include <algorithm>
#include <chrono>

#include "api/model_impl.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::analysis {

Status SampleReader::Reset() {
  index_ = -1;
  for (size_t i = 0; i < data_.size(); ++i)
    MIXQ_RETURN_IF_ERROR(WithContext(data_[i]->Reset(), StrCat("sample data of input ", i, ": Reset")));
  return Status::OK();
}

Status SampleReader::Next(bool* got) {
  *got = false;
  if (max_samples_ >= 0 && index_ + 1 >= max_samples_) return Status::OK();
  for (size_t i = 0; i < data_.size(); ++i) {
    const Status s = data_[i]->Next();
    if (s.code() == StatusCode::OUT_OF_RANGE) {
      if (i == 0) return Status::OK();
      return InvalidArgument("sample data of input ", i, " ended at sample ", index_ + 1,
                             " while input 0 still had data");
    }
    MIXQ_RETURN_IF_ERROR(WithContext(s, StrCat("sample data of input ", i, ": Next (sample ", index_ + 1, ")")));
  }
  ++index_;
  *got = true;
  return Status::OK();
}

Status SampleReader::Fill(const std::vector<std::unique_ptr<IRTTensor>>& inputs) const {
  if (inputs.size() != data_.size())
    return InvalidArgument("the network has ", inputs.size(), " inputs but ", data_.size(),
                           " sample data interfaces were given (one per input)");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string where = StrCat("sample ", index_, ", input '", inputs[i]->GetName(), "'");
    if (data_[i]->GetDataType() != inputs[i]->GetDataType())
      return InvalidArgument(where, ": the data is ", DataTypeName(data_[i]->GetDataType()), ", the input takes ",
                             DataTypeName(inputs[i]->GetDataType()));
    const Dims dims = data_[i]->GetShape();
    void* sample = data_[i]->GetSample();
    if (!sample) return InvalidArgument(where, ": GetSample returned null");
    MIXQ_RETURN_IF_ERROR(WithContext(inputs[i]->SetDimensions(dims), where));
    const size_t bytes = static_cast<size_t>(dims.GetElementCount()) * DataTypeSize(inputs[i]->GetDataType());
    MIXQ_RETURN_IF_ERROR(WithContext(inputs[i]->SetData(sample, bytes), where));
  }
  return Status::OK();
}

Status Runner::Init(std::shared_ptr<const format::ModelData> model, int num_threads, bool profile) {
  model_ = std::make_unique<api::ModelImpl>(std::move(model));
  engine_ = model_->CreateIEngine();
  if (!engine_) return model_->GetLastStatus();
  ContextOptions options;
  options.num_threads = num_threads;
  options.profile = profile;
  context_ = engine_->CreateIContext(options);
  if (!context_) return Internal("CreateIContext returned null");
  return Status::OK();
}

Status Runner::Run(const SampleReader& reader, FloatTensors* outputs) {
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  MIXQ_RETURN_IF_ERROR(context_->CreateInputTensors(&in));
  MIXQ_RETURN_IF_ERROR(context_->CreateOutputTensors(&out));
  MIXQ_RETURN_IF_ERROR(reader.Fill(in));
  MIXQ_RETURN_IF_ERROR(WithContext(context_->Enqueue(in, out), StrCat("sample ", reader.index())));
  outputs->clear();
  for (const auto& t : out) {
    const int64_t n = t->GetDimensions().GetElementCount();
    std::vector<float> values(static_cast<size_t>(n));
    const void* data = t->GetData();
    switch (t->GetDataType()) {
      case DataType::FLOAT32:
        std::copy_n(static_cast<const float*>(data), n, values.begin());
        break;
      case DataType::FLOAT16:
        for (int64_t i = 0; i < n; ++i)
          values[static_cast<size_t>(i)] = HalfToFloat(static_cast<const uint16_t*>(data)[i]);
        break;
      case DataType::BFLOAT16:
        for (int64_t i = 0; i < n; ++i)
          values[static_cast<size_t>(i)] = BFloat16ToFloat(static_cast<const uint16_t*>(data)[i]);
        break;
      default:
        continue;  // not real numbers: nothing to compare
    }
    (*outputs)[t->GetName()] = {t->GetDimensions(), std::move(values)};
  }
  return Status::OK();
}

Status Runner::Time(const SampleReader& reader, int runs, double* median_ms) {
  std::vector<std::unique_ptr<IRTTensor>> in, out;
  MIXQ_RETURN_IF_ERROR(context_->CreateInputTensors(&in));
  MIXQ_RETURN_IF_ERROR(context_->CreateOutputTensors(&out));
  MIXQ_RETURN_IF_ERROR(reader.Fill(in));
  MIXQ_RETURN_IF_ERROR(context_->Enqueue(in, out));  // warm-up: plan, arena, packed weights
  std::vector<double> times;
  for (int r = 0; r < std::max(runs, 1); ++r) {
    const auto start = std::chrono::steady_clock::now();
    MIXQ_RETURN_IF_ERROR(context_->Enqueue(in, out));
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  *median_ms = times[times.size() / 2];
  return Status::OK();
}

}  // namespace mixq::analysis
