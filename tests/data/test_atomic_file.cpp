// Atomic file writes (deepsc/data/atomic_file.h): the file holds exactly what was written, no
// temporary file is left after success or failure, and errors are one line naming the path.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "deepsc/data/atomic_file.h"

namespace fs = std::filesystem;
using deepsc::data::FileWriteError;
using deepsc::data::write_file_atomically;
using deepsc::data::write_file_atomically_with;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `write`, expects a FileWriteError whose message is one line starting "<path>: ".
template <typename F>
std::string expect_failure(const std::string& path, F write) {
  try {
    write();
    ADD_FAILURE() << "no error writing " << path;
  } catch (const FileWriteError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(e.path(), path);
    return what;
  }
  return {};
}

}  // namespace

TEST(AtomicFile, WritesExactBytesAndReplacesAnOldFile) {
  const fs::path dir = deepsc::testing::fresh_dir("atomic_file_ok");
  const std::string path = (dir / "a.txt").string();
  write_file_atomically(path, "first version, longer than the second\n");
  const std::string binary("x\0y\n\xff", 5);
  write_file_atomically(path, binary);
  EXPECT_EQ(contents(path), binary);
  write_file_atomically(path, "");
  EXPECT_EQ(contents(path), "");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, WriterCallbackWritesTheTemporaryThatIsRenamed) {
  const fs::path dir = deepsc::testing::fresh_dir("atomic_file_writer");
  const std::string path = (dir / "b.bin").string();
  std::string seen;
  write_file_atomically_with(path, [&](const std::string& temp) {
    seen = temp;
    EXPECT_EQ(fs::path(temp).parent_path(), dir);  // same directory: the rename is atomic
    EXPECT_NE(temp, path);
    std::ofstream(temp, std::ios::binary) << "from a library";
  });
  EXPECT_EQ(contents(path), "from a library");
  EXPECT_FALSE(fs::exists(seen));
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"b.bin"});
}

TEST(AtomicFile, ThrowingWriterLeavesTheOldFileAndNoTemporary) {
  const fs::path dir = deepsc::testing::fresh_dir("atomic_file_throw");
  const std::string path = (dir / "c.txt").string();
  write_file_atomically(path, "old");
  const std::string what = expect_failure(path, [&] {
    write_file_atomically_with(path, [](const std::string& temp) {
      std::ofstream(temp) << "half written";
      throw std::runtime_error("encoder failed\nbacktrace line");
    });
  });
  EXPECT_NE(what.find("encoder failed"), std::string::npos) << what;
  EXPECT_EQ(what.find("backtrace"), std::string::npos) << what;
  EXPECT_EQ(contents(path), "old");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"c.txt"});
  // A writer that creates nothing fails at the rename, also cleanly.
  expect_failure(path, [&] { write_file_atomically_with(path, [](const std::string&) {}); });
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"c.txt"});
}

TEST(AtomicFile, UnwritableDirectoryGivesOneLineNamingThePath) {
  const fs::path dir = deepsc::testing::fresh_dir("atomic_file_bad");
  // A directory that does not exist, and one whose "directory" is a regular file (root can write
  // anywhere, so permissions alone cannot make a directory unwritable in a test).
  const std::string missing = (dir / "no_such_dir" / "x.npy").string();
  const std::string what = expect_failure(missing, [&] { write_file_atomically(missing, "data"); });
  EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  std::ofstream(dir / "file") << "a file";
  const std::string under_file = (dir / "file" / "x.npy").string();
  expect_failure(under_file, [&] { write_file_atomically(under_file, "data"); });
  // The target is a non-empty directory: the temporary is written, the rename fails, and the
  // temporary is removed.
  fs::create_directories(dir / "target" / "occupant");
  const std::string target = (dir / "target").string();
  expect_failure(target, [&] { write_file_atomically(target, "data"); });
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"file", "target"}));
  // A path with a newline stays one line in the message.
  const std::string odd = (dir / "no\nsuch" / "x").string();
  try {
    write_file_atomically(odd, "data");
    FAIL();
  } catch (const FileWriteError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no\\x0asuch"), std::string::npos) << e.what();
  }
}
