// OpenMP worker threads that spin between parallel regions (libgomp's default
// when OMP_WAIT_POLICY is unset) take a core from whatever else runs. On a
// shared 2-core machine under load, measured 2026-12-01 (mixq bench, ResNet-50
// float32, 2 threads): median 1,614-2,116 ms with the default against 243-389
// ms with OMP_WAIT_POLICY=passive; `mixq build` calibration of ResNet-50 on 8
// samples 26.3 s against 6.0 s (the workers spun through the serial observer
// passes). Passive waits cost a futex wake per parallel region, about 1 % on
// an idle machine.
//
// libgomp reads the variable once, when it is loaded, before main() runs, so
// an executable can only choose it by running itself again with it set.
#pragma once

namespace mixq::util {

// For mixq's executables (the CLI, the demo, benchmarks): when
// OMP_WAIT_POLICY is not set, sets it to "passive" and re-executes the
// program (/proc/self/exe) with the same arguments. A user's own setting is
// kept; if re-executing fails the program simply goes on with the default.
void PreferPassiveOpenMpWaits(char** argv);

}  // namespace mixq::util
