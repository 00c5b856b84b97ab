// The network of the seed document: input -> Conv -> MaxPool, with filter
// and bias made by AddIConstNode. Filter OHWI [16, 3, 3, 3], bias [16].
#pragma once

#include <cstdint>
#include <vector>

#include "mixq/mixq.h"

namespace mixq::examples {

struct SeedWeights {
  std::vector<float> filter;  // [16, 3, 3, 3], OHWI
  std::vector<float> bias;    // [16]
};
SeedWeights MakeSeedWeights(uint32_t seed);

// The seed's C++ snippet exactly as written (QINT8 input, per-op precisions).
Status BuildSeedNetworkAsWritten(INetwork* network, const SeedWeights& weights);
// The same network without its quantized settings: FLOAT32 input, no
// SetPrecision / SetOutputType lines.
Status BuildSeedNetworkFloat(INetwork* network, const SeedWeights& weights);

}  // namespace mixq::examples
