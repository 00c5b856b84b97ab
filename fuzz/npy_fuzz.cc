// libFuzzer target for the .npy reader (ParseNpy, used for run inputs and
// calibration samples): any bytes must give a status, never a crash, an
// overread or an allocation larger than the input; an accepted array holds
// exactly the bytes its shape and dtype need.
//
// Seed corpus: fuzz/corpus/npy/ (committed).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "util/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::NpyArray array;
  const mixq::Status status = mixq::ParseNpy(data, size, &array);
  if (!status.ok()) return 0;
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d < 0) std::abort();
    count *= static_cast<uint64_t>(d);
  }
  if (array.bytes.size() != count * mixq::DataTypeSize(array.dtype) || array.bytes.size() > size) std::abort();
  return 0;
}
