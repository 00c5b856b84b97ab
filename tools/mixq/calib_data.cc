#include "calib_data.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "npz.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace fs = std::filesystem;

namespace {

bool HasExtension(const fs::path& p, const char* ext) {
  return p.extension() == ext;
}

}  // namespace

Status CalibSamples::Open(const std::string& source, std::vector<std::string> input_names,
                          std::vector<DataType> input_types) {
  names_ = std::move(input_names);
  types_ = std::move(input_types);
  files_.clear();
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const auto& entry : fs::directory_iterator(source, ec))
      if (entry.is_regular_file() && (HasExtension(entry.path(), ".npy") || HasExtension(entry.path(), ".npz")))
        files_.push_back(entry.path().string());
    if (ec) return InvalidArgument("--calib-data '", source, "': ", ec.message());
    std::sort(files_.begin(), files_.end());
  } else if (fs::is_regular_file(source, ec)) {
    std::ifstream in(source);
    if (!in) return NotFound("--calib-data: cannot open '", source, "'");
    const fs::path base = fs::path(source).parent_path();
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      fs::path p(line);
      files_.push_back((p.is_absolute() ? p : base / p).string());
    }
  } else {
    return NotFound("--calib-data '", source, "' is neither a folder nor a list file");
  }
  if (files_.empty()) return InvalidArgument("--calib-data '", source, "' holds no .npy / .npz sample");
  tensors_.assign(names_.size(), HostTensor{});
  loaded_ = -1;
  return Status::OK();
}

Status CalibSamples::Load(size_t index) {
  if (static_cast<int64_t>(index) == loaded_) return Status::OK();
  if (index >= files_.size()) return OutOfRange("no calibration sample ", index);
  const std::string& file = files_[index];
  std::map<std::string, NpyArray> arrays;
  if (HasExtension(file, ".npz")) {
    MIXQ_RETURN_IF_ERROR(ReadNpz(file, &arrays));
    // A one-input model takes a one-array archive whatever the array's name.
    if (names_.size() == 1 && arrays.size() == 1 && !arrays.count(names_[0])) {
      if (!warned_renamed_array_)
        std::fprintf(stderr,
                     "mixq build: warning: calibration sample '%s' holds one array named '%s', not '%s'; it is used "
                     "as input '%s' (further samples like this are not reported)\n",
                     file.c_str(), arrays.begin()->first.c_str(), names_[0].c_str(), names_[0].c_str());
      warned_renamed_array_ = true;
      NpyArray only = std::move(arrays.begin()->second);
      arrays.clear();
      arrays[names_[0]] = std::move(only);
    }
  } else {
    if (names_.size() != 1)
      return InvalidArgument("calibration sample '", file, "' is one .npy but the model has ", names_.size(),
                             " inputs: use .npz files with one array per input name");
    MIXQ_RETURN_IF_ERROR(ReadNpy(file, &arrays[names_[0]]));
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    auto it = arrays.find(names_[i]);
    if (it == arrays.end()) return InvalidArgument("calibration sample '", file, "' has no array '", names_[i], "'");
    tensors_[i].name = names_[i];
    MIXQ_RETURN_IF_ERROR(ConvertArray(it->second, types_[i],
                                      StrCat("calibration sample '", file, "' input '", names_[i], "'"), &tensors_[i]));
  }
  loaded_ = static_cast<int64_t>(index);
  return Status::OK();
}

Dims FileCalibData::GetShape() {
  return samples_->Tensor(input_).dims;
}

DataType FileCalibData::GetDataType() {
  return samples_->Tensor(input_).type;
}

Status FileCalibData::Next() {
  if (cursor_ + 1 >= static_cast<int64_t>(samples_->Count())) return OutOfRange("no more calibration samples");
  ++cursor_;
  return samples_->Load(static_cast<size_t>(cursor_));
}

Status FileCalibData::Reset() {
  cursor_ = -1;
  return Status::OK();
}

void* FileCalibData::GetSample() {
  if (cursor_ < 0 || samples_->Load(static_cast<size_t>(cursor_)) != StatusCode::OK) return nullptr;
  return const_cast<uint8_t*>(samples_->Tensor(input_).bytes.data());
}

}  // namespace mixq::cli
