// The spin choice of util/omp_wait_policy.h: /proc/loadavg parsed, and the
// spin for an idle and a busy start.
#include "util/omp_wait_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace mixq::util {
namespace {

TEST(OpenMpWaits, RunnableCountReadFromLoadavg) {
  EXPECT_EQ(RunnableInLoadavg("0.66 0.85 0.99 1/86 1891\n"), 1);
  EXPECT_EQ(RunnableInLoadavg("12.00 9.50 3.25 17/1204 99"), 17);
  EXPECT_EQ(RunnableInLoadavg("0.00  0.01  0.05 3/88 1896"), 3);
}

TEST(OpenMpWaits, MalformedLoadavgIsUnknown) {
  for (const std::string text : {"", "0.66 0.85 0.99", "0.66 0.85 0.99 /86 1", "0.66 0.85 0.99 x/86 1",
                                 "0.66 0.85 0.99 -2/86 1", "0.66 0.85 0.99 4 86", "0.66 0.85 0.99 4a/86 1"})
    EXPECT_EQ(RunnableInLoadavg(text), -1) << "'" << text << "'";
}

TEST(OpenMpWaits, LongSpinOnlyWhenNothingElseRuns) {
  EXPECT_STREQ(SpinCountForOthersRunnable(0), "10000");
  EXPECT_STREQ(SpinCountForOthersRunnable(1), "1000");
  EXPECT_STREQ(SpinCountForOthersRunnable(5), "1000");
  EXPECT_STREQ(SpinCountForOthersRunnable(-1), "1000");
}

}  // namespace
}  // namespace mixq::util
