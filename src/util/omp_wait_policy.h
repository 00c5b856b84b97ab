// How OpenMP workers wait between parallel regions decides a large part of
// mixq's multi-threaded latency: one inference runs 50-200 steps, each one
// or more parallel regions a few microseconds apart.
//
// - libgomp's default (OMP_WAIT_POLICY unset) spins 300,000 pauses (3-15 ms)
//   before sleeping. On a shared 2-core machine under load that took a core
//   from everything else, measured 2026-12-01 (mixq bench, ResNet-50 float32,
//   2 threads): median 1,614-2,116 ms against 243-389 ms passive; `mixq
//   build` calibration of ResNet-50 on 8 samples 26.3 s against 6.0 s.
// - Pure passive waits (no spin) pay a futex wake per region. On an AMD Zen 4
//   VM, measured 2026-12-03 (mixq bench, 2 threads, medians): MobileNetV2
//   float32 7.8-8.5 ms passive against 4.8-5.1 ms with a 1,000-pause spin,
//   PP-OCR det 21.7-21.9 against 12.8-15.9 ms, PP-OCR rec 16.8-18.8 against
//   10.0-10.1 ms.
// - A 1,000-pause spin (25 ns a pause on that Zen 4, 25 us in all) keeps that
//   gain and, with a busy loop on one of the two cores, ran MobileNetV2 at
//   11.4-12.4 ms against passive's 9.1-11.8; 10,000 pauses ran it at 42 ms.
// - On an Intel Xeon VM with AMX, measured 2026-12-05 (PP-OCR rec
//   force_bfloat16, 2 threads, medians): 1,000 pauses 4.45-4.58 ms, 10,000
//   3.42, 100,000 3.14 (OpenVINO, whose workers spin, 3.15); with a busy
//   loop on one core 8.48 (p90 8.65), 18.5 (p90 26.2) and 8.10 (p90 122,
//   p99 161): the long spin stays the user's choice (bench/RESULTS.md stop
//   36).
//
// - So the spin depends on the machine at start: with no other runnable
//   process (the minimum over a few readings of /proc/loadavg's runnable
//   count, the reader itself excluded), 10,000 pauses; otherwise 1,000.
//   Measured 2026-12-05 on the Xeon (mixq bench, 2 threads, medians of 40,
//   two rounds): ResNet-50 QDQ 5.75-5.79 ms at 1,000 against 4.77-4.98 at
//   10,000 (4.81-5.02 at 30,000), PP-OCR rec force_bfloat16 4.60-4.69
//   against 3.48-3.58, PP-OCR det float32 10.0-10.1 against 8.6-8.7,
//   MobileNetV2 float32 3.78-3.95 against 3.32-3.71. A process that starts
//   on a busy machine keeps the short spin; one that starts idle and meets
//   a busy process later pays the long spin's cost above (the user can pin
//   either variable).
//
// libgomp reads these variables once, when it is loaded, before main() runs,
// so an executable can only choose them by running itself again.
#pragma once

#include <string_view>

namespace mixq::util {

// The spins mixq's executables and Python package ask for (GOMP_SPINCOUNT):
// on a machine busy at start, and on one idle at start.
inline constexpr const char* kOpenMpSpinCount = "1000";
inline constexpr const char* kOpenMpIdleSpinCount = "10000";

// The runnable scheduling entities in /proc/loadavg's text ("0.66 0.85 0.99
// 1/86 1891": 1, the reader included); -1 where the text has no such field.
int RunnableInLoadavg(std::string_view text);

// The spin for a start that saw `others` runnable entities besides itself
// (-1: unknown): kOpenMpIdleSpinCount for 0, else kOpenMpSpinCount.
const char* SpinCountForOthersRunnable(int others);

// For mixq's executables (the CLI, the demo, benchmarks): when neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, sets OMP_WAIT_POLICY=passive and
// GOMP_SPINCOUNT to the spin above for this start, and re-executes the
// program (/proc/self/exe) with the same arguments. A user's own setting of
// either is kept as it is; if re-executing fails the program goes on with
// libgomp's default.
void PreferPassiveOpenMpWaits(char** argv);

}  // namespace mixq::util
