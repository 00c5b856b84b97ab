// libFuzzer target for the .npz reader of `mixq build --calib-data`: any bytes
// must give a status, never a crash, an overread or an unbounded allocation.
//
// Seed corpus: any .npz files, e.g. from np.savez('c/a.npz', x=np.ones(3)) and
// np.savez_compressed('c/b.npz', x=np.ones((2, 2), np.float32)); then ./npz_fuzz c/
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::map<std::string, mixq::NpyArray> arrays;
  mixq::Status status = mixq::cli::ParseNpz(data, size, &arrays);
  if (status.ok()) {
    for (const auto& [name, array] : arrays) {
      int64_t count = 1;
      for (int64_t d : array.shape) count *= d;
      if (array.bytes.size() < static_cast<size_t>(count) * mixq::DataTypeSize(array.dtype)) __builtin_trap();
    }
  }
  return 0;
}
