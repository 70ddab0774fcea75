#pragma once
/// The `deepsc` command line, runnable in-process (the tests call run() directly).

#include "deepsc/core/runtime.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <map>
#include <string>

namespace deepsc::cli {

/// What every command shares: the streams it writes to and the global run-time options.
struct Context {
  std::ostream& out;
  std::ostream& err;
  RuntimeOptions runtime;
};

/// A subcommand's body, run after parsing and after the run-time options are applied.
using Action = std::function<void(Context&)>;

/// Registers `--threads`, `--device`, `--seed` on a (sub)command.
void add_runtime_options(CLI::App& command, RuntimeOptions& runtime);

/// Each command file adds its subcommand to the app and returns the action to run when chosen.
Action add_encode_command(CLI::App& app);
Action add_coherence_command(CLI::App& app);
Action add_demo_command(CLI::App& app);

/// Parses argv and runs the chosen command. Errors become one line on `err` and a non-zero
/// return (2 for usage errors, 1 for failures); `--help` prints to `out` and returns 0.
int run(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

/// Convenience for tests: run({"encode", "--dict", ...}).
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace deepsc::cli
