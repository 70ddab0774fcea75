#pragma once
/// Starting the ranks of a data-parallel run on this machine (`deepsc launch --nproc N -- ARGS`):
/// N copies of a program, each with the environment a torchrun-style launcher sets (MASTER_ADDR,
/// MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), started with an argument vector (no shell). SIGINT and
/// SIGTERM sent to the launcher are forwarded to every rank; when a rank fails, the others are
/// stopped, so a run never hangs on a dead worker.

#include <cstdint>
#include <string>
#include <vector>

namespace deepsc::dist {

struct LocalLaunch {
  /// The program every rank runs, and its arguments (without the program's name).
  std::string program;
  std::vector<std::string> arguments;
  int64_t processes = 1;
  std::string master_addr = "127.0.0.1";
  /// 0: a free port chosen by the system.
  int64_t master_port = 0;
};

/// What the ranks did: the exit code to report (0 when every rank succeeded, else the first
/// failing rank's code, 128 + signal for a rank killed by a signal) and a one-line account.
struct LaunchResult {
  int exit_code = 0;
  std::string message;
};

/// Runs the ranks to completion. Throws std::invalid_argument for processes < 1 or an empty program,
/// std::runtime_error when a rank cannot be started (after stopping those already started).
LaunchResult launch_local(const LocalLaunch& launch);

/// A TCP port on this machine that no socket is bound to right now.
int64_t free_port();

}  // namespace deepsc::dist
