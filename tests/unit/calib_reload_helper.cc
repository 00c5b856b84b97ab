// A second process for the calibration-file test (calib_e2e_test.cc): builds
// the small ResNet afresh, loads a calibration file saved by another process,
// applies the algorithm named on the command line and writes the built model.
// Usage: mixq_calib_reload_helper STATS_FILE ALGORITHM MODEL_OUT
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../../examples/small_resnet.h"
#include "calib_test_util.h"

using namespace mixq;

namespace {

int Fail(const char* what, const Status& status) {
  std::fprintf(stderr, "mixq_calib_reload_helper: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

bool ParseAlgorithm(const char* name, QuantizationAlgorithm* algorithm) {
  for (auto a : {QuantizationAlgorithm::LINEAR, QuantizationAlgorithm::EQNM, QuantizationAlgorithm::ENTROPY,
                 QuantizationAlgorithm::PERCENTILE}) {
    if (std::strcmp(name, QuantizationAlgorithmName(a)) == 0) {
      *algorithm = a;
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  QuantizationAlgorithm algorithm;
  if (argc != 4 || !ParseAlgorithm(argv[2], &algorithm)) {
    std::fprintf(stderr, "usage: %s STATS_FILE linear|eqnm|entropy|percentile MODEL_OUT\n", argv[0]);
    return 2;
  }
  auto network = CreateINetwork();
  Status s = examples::BuildSmallResNet(network.get());
  if (!s.ok()) return Fail("building the network", s);
  // No data: this process only loads statistics.
  auto calibrator = CreateICalibrator(std::vector<CalibDataInterface*>{});
  s = calibrator->SetQuantizationAlgorithm(algorithm);
  if (!s.ok()) return Fail("SetQuantizationAlgorithm", s);
  s = calibrator->LoadStatistics(network.get(), argv[1]);
  if (!s.ok()) return Fail("LoadStatistics", s);
  auto config = CreateIBuilderConfig();
  s = config->ParseFromString(testing::kQint8MixedFloat32);
  if (!s.ok()) return Fail("config", s);
  auto builder = CreateIBuilder();
  // Named as BuildOrDie names it, so the test can compare model bytes.
  auto model = builder->BuildModel("test", network.get(), config.get());
  if (!model) return Fail("BuildModel", builder->GetLastStatus());
  s = model->SerializeToFile(argv[3]);
  if (!s.ok()) return Fail("SerializeToFile", s);
  return 0;
}
