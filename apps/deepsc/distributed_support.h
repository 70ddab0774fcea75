#pragma once
// What the data-parallel commands share (train, benchmark train): --distributed / --dist-timeout,
// joining the ranks from the launcher's environment, and a failure message naming the rank.
#include "cli.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <stdexcept>
#include <string>

namespace deepsc::cli {

struct DistributedOptions {
  bool enabled = false;
  double timeout_seconds = 300;
};

/// --distributed (described by `what`) and --dist-timeout; returns the --distributed flag (for needs()).
CLI::Option* add_distributed_options(CLI::App* cmd, DistributedOptions& o, const std::string& what);

/// The Gloo group of RANK of WORLD_SIZE at MASTER_ADDR:MASTER_PORT, or null without --distributed.
c10::intrusive_ptr<c10d::ProcessGroup> connect_ranks(const DistributedOptions& o);

/// A dead or stalled rank surfaces as a transport error or a timeout in a collective: the error to
/// report, saying which rank stopped.
std::runtime_error rank_failure(const c10d::ProcessGroup& group, const std::exception& cause);

}  // namespace deepsc::cli
