// The λ grid as the user writes it (deepsc/robust/lambda_grid.h).
#include "deepsc/robust/lambda_grid.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace robust = deepsc::robust;

namespace {

/// The message parse_lambda_grid throws for `text` ("" when it does not throw).
std::string error_of(const std::string& text) {
  try {
    robust::parse_lambda_grid(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LambdaGrid, RangesAreInclusiveAndExactOnTheDecimalGrid) {
  const auto grid = robust::parse_lambda_grid("0.1:1.4:0.1");
  ASSERT_EQ(grid.size(), 14u);
  // 0.1 + 2·0.1 is 0.3 here, not 0.30000000000000004: values are rounded to 1e-9.
  for (size_t i = 0; i < grid.size(); ++i) EXPECT_EQ(grid[i], (i + 1) / 10.0) << i;
  EXPECT_EQ(robust::parse_lambda_grid("0.1:0.7:0.3"), (std::vector<double>{0.1, 0.4, 0.7}));
  EXPECT_EQ(robust::parse_lambda_grid("0.2:0.2:0.1"), (std::vector<double>{0.2}));
  // The last value is the largest first + k·step ≤ last.
  EXPECT_EQ(robust::parse_lambda_grid("0:1:0.3"), (std::vector<double>{0, 0.3, 0.6, 0.9}));
  // 10000 values are allowed, 10001 are not.
  EXPECT_EQ(robust::parse_lambda_grid("1:10000:1").size(), 10000u);
  EXPECT_EQ(error_of("0:10000:1"), "--lambda-grid: more than 10000 values in '0:10000:1'");
}

TEST(LambdaGrid, ListsAreSortedWithoutDuplicates) {
  EXPECT_EQ(robust::parse_lambda_grid("0.5,0.1,0.5,0"), (std::vector<double>{0, 0.1, 0.5}));
  EXPECT_EQ(robust::parse_lambda_grid("1e-1"), (std::vector<double>{0.1}));
  EXPECT_EQ(robust::parse_lambda_grid("2,1.5"), (std::vector<double>{1.5, 2}));
}

TEST(LambdaGrid, EveryBadFormIsRejectedWithItsMessage) {
  const std::string hint = " is not a lambda >= 0 (use a:b:step or a,b,c)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1.4:0.1:0.1", "--lambda-grid: need first <= last and step > 0 in '1.4:0.1:0.1'"},
      {"0.1:1:0", "--lambda-grid: need first <= last and step > 0 in '0.1:1:0'"},
      {"0.1:1", "--lambda-grid: a range is first:last:step, got '0.1:1'"},
      {"0:1:0.1:2", "--lambda-grid: a range is first:last:step, got '0:1:0.1:2'"},
      {"0.1,x", "--lambda-grid: 'x'" + hint},
      {"-1", "--lambda-grid: '-1'" + hint},
      {"0.1,-0.2", "--lambda-grid: '-0.2'" + hint},
      {"0:-1:0.1", "--lambda-grid: '-1'" + hint},
      {"0.1,", "--lambda-grid: ''" + hint},
      {"0:1:", "--lambda-grid: ''" + hint},
      {",0.1", "--lambda-grid: ''" + hint},
      {"nan", "--lambda-grid: 'nan'" + hint},
      {"inf", "--lambda-grid: 'inf'" + hint},
      {"0.1x", "--lambda-grid: '0.1x'" + hint},
      {"", "--lambda-grid: no values"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(error_of(text), message) << "'" << text << "'";
}
