#include "runtime/rt_tensor.h"

#include "util/status_util.h"

namespace mixq::runtime {

Status RTTensorImpl::SetDimensions(const Dims& dims) {
  for (int64_t d : dims.GetDims())
    if (d < 0) return InvalidArgument("tensor '", name_, "': run-time dims ", dims.ToString(), " must all be >= 0");
  dims_ = dims;
  return Status::OK();
}

Status RTTensorImpl::SetData(void* data, size_t bytes) {
  if (!data && bytes > 0) return InvalidArgument("tensor '", name_, "': SetData got a null pointer");
  user_data_ = data;
  user_bytes_ = bytes;
  owned_.clear();
  owned_.shrink_to_fit();
  return Status::OK();
}

Status RTTensorImpl::PrepareOutput(const Dims& dims, size_t bytes) {
  dims_ = dims;
  if (user_data_) {
    if (user_bytes_ < bytes)
      return InvalidArgument("output '", name_, "': the buffer set with SetData holds ", user_bytes_,
                             " bytes, dims ", dims.ToString(), " of ", DataTypeName(type_), " need ", bytes);
    return Status::OK();
  }
  owned_.resize(bytes);
  return Status::OK();
}

}  // namespace mixq::runtime

namespace mixq {
std::unique_ptr<IRTTensor> CreateIRTTensor(DataType type, const std::string& name, const Dims& dims) {
  return std::make_unique<runtime::RTTensorImpl>(type, name, dims);
}
}  // namespace mixq
