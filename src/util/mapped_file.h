// A model file mapped read-only into memory, so its weights are used in place
// instead of being copied (issue: peak memory of a loaded model).
//
// Pages of a private, never-written file mapping are clean: Release() hands
// them back to the kernel (madvise MADV_DONTNEED) and the next read of those
// bytes faults them in again from the page cache, with the same contents.
// So a weight that a kernel has packed into its own layout stops counting in
// the process's resident memory, yet stays readable. mixq writes model files
// to a temporary name and renames them, so an engine never sees its mapped
// file change under it; a file rewritten in place by another program is not
// supported while an engine maps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mixq {

class MappedFile {
 public:
  // Maps all of `path` read-only; null when it cannot be mapped (missing, not
  // a regular file, empty, over `max_bytes`, mmap refused): the caller then
  // reads it, and the reader's checks report what is wrong.
  static std::shared_ptr<const MappedFile> Map(const std::string& path, int64_t max_bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Drops the whole pages inside [p, p + n) from this process's resident
  // memory; they are read again from the file when next touched. A range
  // outside the mapping is ignored.
  void Release(const void* p, size_t n) const;

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mixq
