// Warnings about input data whose meaning a quantized model changes.
#pragma once

#include <string>
#include <vector>

#include "mixq/runtime.h"
#include "tensors.h"

namespace mixq::cli {

// NaN / inf policy (docs/reliability.md): float precisions propagate NaN and
// inf; a QINT8 / QINT16 step maps NaN to the code of 0.0 and saturates inf.
// When `model` quantizes anything, prints one warning per FLOAT32 input that
// holds NaN or inf (on stderr, prefixed "mixq VERB: warning:") and returns
// how many inputs were warned about.
int WarnNonFiniteInputs(const std::string& verb, const IModel& model, const std::vector<HostTensor>& inputs);

}  // namespace mixq::cli
