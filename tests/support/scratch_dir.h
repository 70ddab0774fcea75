#pragma once
// Scratch folders for tests that write files: under DEEPSC_TEST_TMP (set by CTest to a folder in
// the build tree), else under the system temp directory.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace deepsc::testing {

/// `<scratch root>/<name>`, created if missing (contents kept).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const char* env = std::getenv("DEEPSC_TEST_TMP");
  auto dir = (env && *env) ? std::filesystem::path(env) : std::filesystem::temp_directory_path() / "deepsc_test";
  dir /= name;
  std::filesystem::create_directories(dir);
  return dir;
}

/// `<scratch root>/<name>`, emptied first: each test starts from nothing.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = scratch_dir(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace deepsc::testing
