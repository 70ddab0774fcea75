// Whole-token numbers: what every command-line list and grid agrees a number is.
#include "deepsc/data/number_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace deepsc::data {
namespace {

TEST(NumberText, WholeTokensOnly) {
  EXPECT_EQ(parse_double("0.5"), 0.5);
  EXPECT_EQ(parse_double("-1e-3"), -1e-3);
  EXPECT_TRUE(std::isinf(*parse_double("1e999")));  // overflow reads as inf: the caller checks range
  for (const char* bad : {"", " 1", "\t1", "1 ", "1x", "0.1,0.2", "x"}) EXPECT_FALSE(parse_double(bad)) << "'" << bad << "'";
  EXPECT_EQ(parse_int64("40"), 40);
  EXPECT_EQ(parse_int64("-3"), -3);
  EXPECT_EQ(parse_int64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", " 4", "4 ", "1.5", "9223372036854775808", "0x10", "4e2"})
    EXPECT_FALSE(parse_int64(bad)) << "'" << bad << "'";
}

}  // namespace
}  // namespace deepsc::data
