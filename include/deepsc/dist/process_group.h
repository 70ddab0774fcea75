#pragma once
/// Data-parallel training across processes on LibTorch's own distributed engine: a c10d process
/// group (Gloo on CPU) with a TCP-store rendezvous, configured from the environment variables that
/// torchrun-style launchers, Slurm wrappers and mpirun scripts set.
///
/// Environment: MASTER_ADDR, MASTER_PORT (rank 0 listens there), RANK, WORLD_SIZE and LOCAL_RANK
/// (LOCAL_RANK defaults to RANK).

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace deepsc::dist {

/// Where this process stands in a distributed run.
struct DistributedEnv {
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
};

/// Reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK through `lookup` (std::getenv by
/// default; nullptr means unset). Throws std::invalid_argument naming the variable when one is
/// missing (LOCAL_RANK may be), not a whole integer, or out of range (port in [1, 65535], world size
/// ≥ 1, 0 ≤ rank < world size).
DistributedEnv read_distributed_env(const std::function<const char*(const char*)>& lookup = {});

struct ProcessGroupOptions {
  /// How long any collective (and the rendezvous) may wait for the other ranks before it throws:
  /// a rank that died or stalls makes the others fail with an error instead of hanging.
  TORCH_ARG(std::chrono::milliseconds, timeout) = std::chrono::minutes(5);
};

/// A Gloo process group of `world_size` ranks over `store` (every rank must call it). Throws
/// std::invalid_argument for a bad rank / world size, and c10d's error when the rendezvous fails.
c10::intrusive_ptr<c10d::ProcessGroup> make_gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                       int64_t world_size, const ProcessGroupOptions& options = {});

/// The TCP store of `env` (rank 0 serves it on MASTER_PORT) and the Gloo group over it.
c10::intrusive_ptr<c10d::ProcessGroup> connect(const DistributedEnv& env, const ProcessGroupOptions& options = {});

}  // namespace deepsc::dist
