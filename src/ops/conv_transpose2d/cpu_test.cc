// The oneDNN ConvTranspose2D against the reference (DESIGN rule 1) on odd
// shapes: groups, dilation, strides, output padding, asymmetric and SAME
// padding, both filter layouts (IOHW, IHWO), both activation layouts, constant
// and run-time filters, with and without bias, extreme values.
// Tolerance: see test_util/conv_compare.h.
#include <gtest/gtest.h>

#include "test_util/conv_compare.h"

namespace mixq::testing {
namespace {

TEST(ConvTranspose2DOneDnn, MatchesTheReferenceOnOddShapes) {
  const ConvCase cases[] = {
      {"nhwc ihwo stride 2", 1,      3,          7,      5,      4,      3,    3,    1,    {2, 2},
       {1, 1, 1, 1},         {1, 1}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1.0f, {0, 0}},
      {"nchw iohw output padding",
       2,
       5,
       6,
       4,
       3,
       3,
       2,
       1,
       {2, 3},
       {0, 1, 1, 0},
       {1, 1},
       "EXPLICIT",
       "NCHW",
       "IOHW",
       "NCHW",
       true,
       false,
       1.0f,
       {1, 2}},
      {"grouped dilated", 1,      6,          5,      6,      9,      3,    3,    3,    {1, 2},
       {1, 0, 2, 1},      {2, 2}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1.0f, {0, 1}},
      {"same upper", 1,      4,      5,      7,    6,    4,    4,     2, {2, 2}, {0, 0, 0, 0}, {1, 1},
       "SAME_UPPER", "NCHW", "IOHW", "NCHW", true, true, 1.0f, {0, 0}},
      {"same lower, mixed layouts",
       1,
       3,
       4,
       4,
       2,
       3,
       3,
       1,
       {2, 1},
       {0, 0, 0, 0},
       {1, 1},
       "SAME_LOWER",
       "NCHW",
       "IOHW",
       "NHWC",
       true,
       true,
       1.0f,
       {0, 0}},
      {"valid, run-time filter",
       1,
       2,
       5,
       3,
       3,
       2,
       3,
       1,
       {1, 1},
       {0, 0, 0, 0},
       {1, 1},
       "VALID",
       "NHWC",
       "IHWO",
       "NHWC",
       false,
       true,
       1.0f,
       {0, 0}},
      {"large values", 1,      3,          4,      5,      2,      2,    2,    1,     {2, 2},
       {0, 0, 0, 0},   {1, 1}, "EXPLICIT", "NHWC", "IHWO", "NHWC", true, true, 1e18f, {1, 1}},
  };

  for (const ConvCase& c : cases) ExpectOptimizedConvMatchesReference(OpKind::kConvTranspose2D, c);
}

}  // namespace
}  // namespace mixq::testing
