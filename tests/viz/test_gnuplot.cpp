// Running gnuplot without a shell (deepsc/viz/gnuplot.h).
#include "deepsc/viz/gnuplot.h"

#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST(Gnuplot, RunsInAFolderWhoseNameAShellWouldParse) {
  if (!deepsc::viz::gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  const auto root = deepsc::testing::fresh_dir("gnuplot_quoted");
  // A quote, a semicolon and a space: through a shell, `cd '<dir>' && ...` would run `touch pwned`.
  const auto dir = root / "it's; touch pwned; x";
  fs::create_directories(dir);
  const std::string script =
      "set print 'out.txt'\n"
      "print 6 * 7\n"
      "set terminal dumb size 40,10\n"
      "set output 'sine.txt'\n"
      "plot sin(x) notitle\n";
  const auto run = deepsc::viz::run_gnuplot(script, dir.string(), (dir / "plot.log").string());
  EXPECT_TRUE(run.ok) << run.message << "\n" << read_text(dir / "plot.log");
  EXPECT_TRUE(run.message.empty());
  // The script ran in that folder: relative names land there, and nothing else was created.
  EXPECT_EQ(read_text(dir / "out.txt"), "42\n");
  EXPECT_TRUE(fs::exists(dir / "sine.txt"));
  EXPECT_FALSE(fs::exists(root / "pwned"));
  EXPECT_FALSE(fs::exists(dir / "pwned"));
  EXPECT_FALSE(fs::exists(fs::current_path() / "pwned"));
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1u) << "only the folder itself under the root";
}

TEST(Gnuplot, ABadScriptIsAFailureWithItsLog) {
  if (!deepsc::viz::gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  const auto dir = deepsc::testing::fresh_dir("gnuplot_bad");
  const auto log = dir / "plot.log";
  deepsc::viz::GnuplotRun run;
  EXPECT_NO_THROW(run = deepsc::viz::run_gnuplot("this is not gnuplot\n", dir.string(), log.string()));
  EXPECT_FALSE(run.ok);
  EXPECT_NE(run.message.find("gnuplot exited with status"), std::string::npos) << run.message;
  EXPECT_NE(run.message.find(log.filename().string()), std::string::npos) << run.message;
  EXPECT_NE(read_text(log).find("invalid command"), std::string::npos) << read_text(log);
}

TEST(Gnuplot, AMissingFolderIsAFailureNotAThrow) {
  deepsc::viz::GnuplotRun run;
  const auto missing = deepsc::testing::fresh_dir("gnuplot_missing") / "nowhere";
  EXPECT_NO_THROW(run = deepsc::viz::run_gnuplot("print 1\n", missing.string(), (missing / "plot.log").string()));
  EXPECT_FALSE(run.ok);
  EXPECT_FALSE(run.message.empty());
  EXPECT_FALSE(fs::exists(missing));
}
