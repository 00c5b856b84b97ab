#include "util/omp_wait_policy.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mixq::util {

int RunnableInLoadavg(std::string_view text) {
  // Three load averages, then "runnable/total".
  size_t at = 0;
  for (int field = 0; field < 3; ++field) {
    at = text.find(' ', at);
    if (at == std::string_view::npos) return -1;
    at = text.find_first_not_of(' ', at);
    if (at == std::string_view::npos) return -1;
  }
  const size_t slash = text.find('/', at);
  if (slash == std::string_view::npos || slash == at) return -1;
  int runnable = -1;
  const auto [end, error] = std::from_chars(text.data() + at, text.data() + slash, runnable);
  if (error != std::errc() || end != text.data() + slash || runnable < 0) return -1;
  return runnable;
}

const char* SpinCountForOthersRunnable(int others) {
  return others == 0 ? kOpenMpIdleSpinCount : kOpenMpSpinCount;
}

namespace {

// Other runnable entities at this start: the fewest over a few readings a
// millisecond apart (a kernel thread that runs for a moment is not a busy
// machine; a busy process is runnable in every reading). -1 when unknown.
int OthersRunnableAtStart() {
  int fewest = -1;
  for (int reading = 0; reading < 4; ++reading) {
    if (reading > 0) usleep(1000);
    std::ifstream file("/proc/loadavg");
    std::stringstream text;
    text << file.rdbuf();
    const int runnable = RunnableInLoadavg(text.str());
    if (runnable < 1) return -1;  // the reader itself is always runnable
    fewest = fewest < 0 ? runnable - 1 : std::min(fewest, runnable - 1);
  }
  return fewest;
}

}  // namespace

void PreferPassiveOpenMpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  if (setenv("GOMP_SPINCOUNT", SpinCountForOthersRunnable(OthersRunnableAtStart()), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Only reached when exec failed: go on in this process (its libgomp keeps
  // the default policy; the variables set above reach child processes).
}

}  // namespace mixq::util
