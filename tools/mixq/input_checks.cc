#include "input_checks.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace mixq::cli {

int WarnNonFiniteInputs(const std::string& verb, const IModel& model, const std::vector<HostTensor>& inputs) {
  const std::string report = model.GetPrecisionReportJson();
  if (report.find("\"QINT8\"") == std::string::npos && report.find("\"QINT16\"") == std::string::npos) return 0;
  int warned = 0;
  for (const HostTensor& t : inputs) {
    if (t.type != DataType::FLOAT32) continue;
    size_t nan = 0, inf = 0;
    for (size_t i = 0; i + sizeof(float) <= t.bytes.size(); i += sizeof(float)) {
      float v;
      std::memcpy(&v, t.bytes.data() + i, sizeof(float));
      nan += std::isnan(v);
      inf += std::isinf(v);
    }
    if (nan + inf == 0) continue;
    std::fprintf(stderr,
                 "mixq %s: warning: input '%s' holds %zu NaN and %zu infinite values; quantized (QINT8 / QINT16) "
                 "steps of this model turn NaN into 0 and saturate infinities, float steps propagate them except relu, "
                 "relu6 and clip, which map NaN to their lower bound\n",
                 verb.c_str(), t.name.c_str(), nan, inf);
    ++warned;
  }
  return warned;
}

}  // namespace mixq::cli
