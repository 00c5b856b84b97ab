#include "util/omp_wait_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace mixq::util {

void PreferPassiveOpenMpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  if (setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Only reached when exec failed: go on in this process (its libgomp keeps
  // the default policy; the variables set above reach child processes).
}

}  // namespace mixq::util
