#pragma once
// Checks that a call is refused with std::invalid_argument whose message names the problem.

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace deepsc::testing {

/// Expects `call` to throw std::invalid_argument whose message contains `needle`.
inline void expect_rejected(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

}  // namespace deepsc::testing
