// The simulation's value lists: linspace ranges, integer ranges, per-layer lists, and their errors.
#include "deepsc/mlcsc/levels.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace deepsc::mlcsc {
namespace {

using deepsc::testing::message_of;

TEST(MlcscLevels, LinspaceIncludesBothEnds) {
  const auto v = parse_levels("0:0.2:11", "--noise");
  ASSERT_EQ(v.size(), 11u);
  EXPECT_DOUBLE_EQ(v.front(), 0.0);
  EXPECT_DOUBLE_EQ(v.back(), 0.2);
  for (size_t i = 1; i < v.size(); ++i) EXPECT_NEAR(v[i] - v[i - 1], 0.02, 1e-15);
  EXPECT_EQ(parse_levels("0.5:0.5:1", "--noise"), std::vector<double>{0.5});
  EXPECT_EQ(parse_levels("0.1,0.3", "--noise"), (std::vector<double>{0.1, 0.3}));
}

TEST(MlcscLevels, IntegerRangesAndLists) {
  const auto v = parse_integer_range("1:40", "--unrolled-depth");
  ASSERT_EQ(v.size(), 40u);
  EXPECT_EQ(v.front(), 1);
  EXPECT_EQ(v.back(), 40);
  EXPECT_EQ(parse_integer_range("2,5,9", "--unrolled-depth"), (std::vector<int64_t>{2, 5, 9}));
}

TEST(MlcscLevels, BadTextGivesOneLineNamingTheOption) {
  const std::vector<std::string> bad = {"", "a:b:3", "0:1:0", "0:1:x", "0:1", "1,,2", "0:1:2:3", "-1,2", "nan", "inf",
                                        "0:1:100001", "1e999", "0.1:0.2:1"};
  for (const auto& text : bad) {
    const auto message = message_of([&] { parse_levels(text, "--noise"); });
    EXPECT_EQ(message.rfind("--noise: ", 0), 0u) << "'" << text << "' gave '" << message << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  for (const std::string text : {"", "0:40", "5:1", "1.5:3", "x", "1:2:3", "1,0"}) {
    const auto message = message_of([&] { parse_integer_range(text, "--unrolled-depth"); });
    EXPECT_EQ(message.rfind("--unrolled-depth: ", 0), 0u) << "'" << text << "' gave '" << message << "'";
  }
  for (const std::string text : {"", "0.1,-0.2", "0.1,,0.2", "a"}) {
    const auto message = message_of([&] { parse_layer_values(text, "--beta"); });
    EXPECT_EQ(message.rfind("--beta: ", 0), 0u) << "'" << text << "' gave '" << message << "'";
  }
  EXPECT_EQ(parse_layer_values("0.1,0,2", "--beta"), (std::vector<double>{0.1, 0, 2}));
}

}  // namespace
}  // namespace deepsc::mlcsc
