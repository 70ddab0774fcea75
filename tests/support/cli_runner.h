#pragma once
// Runs the deepsc command line in-process for the CLI tests, and gives each test its own folder.

#include "cli.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace deepsc::testing {

/// Exit code and what the command printed.
struct Outcome {
  int code;
  std::string out, err;
};

inline Outcome run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = deepsc::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

/// Whether `s` is exactly one line ending in '\n' (how the CLI reports an error).
inline bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

/// `<scratch>/<prefix><current test's name>`, emptied.
inline std::filesystem::path test_dir(const std::string& prefix) {
  return fresh_dir(prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

}  // namespace deepsc::testing
