// IRTTensor: a run-time tensor with either a user buffer or its own memory.
#pragma once

#include <vector>

#include "mixq/runtime.h"

namespace mixq::runtime {

class RTTensorImpl : public IRTTensor {
 public:
  RTTensorImpl(DataType type, std::string name, Dims dims)
      : type_(type), name_(std::move(name)), dims_(std::move(dims)) {}
  std::string GetName() const override { return name_; }
  DataType GetDataType() const override { return type_; }
  Dims GetDimensions() const override { return dims_; }
  Status SetDimensions(const Dims& dims) override;
  Status SetData(void* data, size_t bytes) override;
  void* GetMutableData() override { return user_data_ ? user_data_ : owned_.empty() ? nullptr : owned_.data(); }
  const void* GetData() const override {
    return user_data_ ? user_data_ : owned_.empty() ? nullptr : owned_.data();
  }
  size_t GetSize() const override { return user_data_ ? user_bytes_ : owned_.size(); }

  // For the context: sets dims and makes room for `bytes` (own memory when the
  // user set no buffer; an error when the user's buffer is too small).
  Status PrepareOutput(const Dims& dims, size_t bytes);

 private:
  DataType type_;
  std::string name_;
  Dims dims_;
  void* user_data_ = nullptr;
  size_t user_bytes_ = 0;
  std::vector<uint8_t> owned_;
};

}  // namespace mixq::runtime
