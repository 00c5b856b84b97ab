// A small ResNet-style network built through the public API: conv-bn-relu
// blocks, a residual add, a strided block with a projection shortcut, global
// average pooling, a fully connected layer and softmax. NHWC input
// [-1, 16, 16, 3] (dynamic batch); output [N, 10] probabilities.
#pragma once

#include <cstdint>

#include "mixq/mixq.h"

namespace mixq::examples {

// Deterministic weights from `seed`.
Status BuildSmallResNet(INetwork* network, uint32_t seed = 7);

}  // namespace mixq::examples
