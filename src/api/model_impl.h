// IModel over format::ModelData.
#pragma once

#include <memory>

#include "format/model_file.h"
#include "mixq/runtime.h"

namespace mixq::api {

class ModelImpl : public IModel {
 public:
  ModelImpl() = default;
  explicit ModelImpl(std::shared_ptr<const format::ModelData> data) : data_(std::move(data)) {}

  std::string GetName() const override { return data_ ? data_->name : ""; }
  Status SerializeToFile(const std::string& path) const override;
  Status SerializeToMemory(std::vector<uint8_t>* bytes) const override;
  Status DeserializeFromFile(const std::string& path) override;
  Status DeserializeFromMemory(const void* data, size_t size) override;
  int64_t GetInputNum() const override;
  int64_t GetOutputNum() const override;
  std::vector<std::string> GetInputNames() const override;
  std::vector<std::string> GetOutputNames() const override;
  std::vector<Dims> GetInputDimensions() const override;
  std::vector<Dims> GetOutputDimensions() const override;
  std::vector<DataType> GetInputDataTypes() const override;
  std::vector<DataType> GetOutputDataTypes() const override;
  int64_t GetWeightBytes() const override;
  std::string GetPrecisionReport() const override;
  std::string GetPrecisionReportJson() const override { return data_ ? data_->report_json : ""; }
  std::unique_ptr<IEngine> CreateIEngine() const override;
  Status GetLastStatus() const override { return last_status_; }
  // The built model (null when empty), for exporters.
  const format::ModelData* data() const { return data_.get(); }

 private:
  std::vector<int> Ids(bool inputs) const;
  std::shared_ptr<const format::ModelData> data_;
  mutable Status last_status_;
};

}  // namespace mixq::api
