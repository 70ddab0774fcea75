#include "distributed_support.h"

#include "deepsc/data/message_text.h"
#include "deepsc/dist/process_group.h"

#include <chrono>

namespace deepsc::cli {

CLI::Option* add_distributed_options(CLI::App* cmd, DistributedOptions& o, const std::string& what) {
  auto* flag = cmd->add_flag("--distributed", o.enabled,
                             what + ": this process is RANK of WORLD_SIZE, meeting at MASTER_ADDR:MASTER_PORT (set by "
                             "deepsc launch, torchrun-style launchers or Slurm)");
  cmd->add_option("--dist-timeout", o.timeout_seconds,
                  "Seconds a rank waits for the others before failing (a dead or stalled rank ends the run)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->needs(flag);
  return flag;
}

c10::intrusive_ptr<c10d::ProcessGroup> connect_ranks(const DistributedOptions& o) {
  if (!o.enabled) return {};
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000));
  return dist::connect(dist::read_distributed_env(), dist::ProcessGroupOptions().timeout(timeout));
}

std::runtime_error rank_failure(const c10d::ProcessGroup& group, const std::exception& cause) {
  return std::runtime_error("rank " + std::to_string(group.getRank()) + " of " + std::to_string(group.getSize()) +
                            " stopped (a rank died, stalled past --dist-timeout, or failed): " +
                            data::first_line(cause.what()));
}

}  // namespace deepsc::cli
