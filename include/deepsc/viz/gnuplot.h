#pragma once
/// Plots drawn by gnuplot (http://www.gnuplot.info), run without a shell: the program is found on
/// PATH and started with an argument vector, its script fed on standard input, so no folder or
/// file name is ever parsed as shell code. Every command that plots goes through here.

#include <string>

namespace deepsc::viz {

/// Whether an executable "gnuplot" is on PATH (searched here, no shell).
bool gnuplot_available();

/// How a gnuplot run went.
struct GnuplotRun {
  bool ok = false;
  /// Empty when ok, else one line saying why (not installed, could not start, exit status or
  /// signal), naming the log where gnuplot's own messages are.
  std::string message;
};

/// Runs gnuplot with `script` on standard input, in `working_directory` (file names in the script
/// are relative to it; it must exist), with its standard output and error written to `log_path`
/// (relative paths are taken from the caller's working directory; the file is replaced). Waits for
/// gnuplot to exit. Never throws for a missing gnuplot, a bad script or a failed start: the result
/// says what went wrong.
GnuplotRun run_gnuplot(const std::string& script, const std::string& working_directory, const std::string& log_path);

}  // namespace deepsc::viz
