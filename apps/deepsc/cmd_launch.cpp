// deepsc launch --nproc N -- train --distributed ...: the ranks of a data-parallel run on this
// machine (deepsc/dist/local_launch.h), each a copy of this program with the launcher's environment.
#include "cli.h"

#include "deepsc/dist/local_launch.h"

#include <filesystem>
#include <memory>

namespace deepsc::cli {

namespace {

struct LaunchCommand {
  int64_t nproc = 2, master_port = 0;
  std::string master_addr = "127.0.0.1";
  std::vector<std::string> command;
};

}  // namespace

Action add_launch_command(CLI::App& app) {
  auto o = std::make_shared<LaunchCommand>();
  auto* cmd = app.add_subcommand("launch", "Run N ranks of a distributed command on this machine: "
                                           "deepsc launch --nproc 2 -- train --distributed --config C --out D");
  cmd->add_option("--nproc", o->nproc, "Processes (ranks) to start")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--master-port", o->master_port, "Port of rank 0's rendezvous (0: a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--master-addr", o->master_addr, "Address the ranks meet at")->capture_default_str();
  cmd->add_option("command", o->command, "The deepsc command every rank runs, after --")->required();
  return [o](Context& ctx) {
    dist::LocalLaunch launch;
    launch.program = std::filesystem::read_symlink("/proc/self/exe").string();
    launch.arguments = o->command;
    launch.processes = o->nproc;
    launch.master_addr = o->master_addr;
    launch.master_port = o->master_port;
    const auto result = dist::launch_local(launch);
    if (result.exit_code != 0) throw std::runtime_error(result.message);
    ctx.err << "launch: " << result.message << "\n";
  };
}

}  // namespace deepsc::cli
