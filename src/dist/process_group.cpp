#include "deepsc/dist/process_group.h"

#include "deepsc/data/number_text.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <stdexcept>

namespace deepsc::dist {

namespace {

int64_t integer_variable(const std::function<const char*(const char*)>& lookup, const char* name, int64_t low,
                         int64_t high, const int64_t* fallback = nullptr) {
  const char* text = lookup(name);
  if (text == nullptr || *text == '\0') {
    if (fallback != nullptr) return *fallback;
    throw std::invalid_argument(std::string(name) + " is not set (a distributed run needs MASTER_ADDR, MASTER_PORT, "
                                "RANK and WORLD_SIZE)");
  }
  const auto parsed = data::parse_int64(text);
  if (!parsed) throw std::invalid_argument(std::string(name) + "=" + text + " is not a whole number");
  const int64_t value = *parsed;
  if (value < low || value > high) {
    throw std::invalid_argument(std::string(name) + "=" + text + " is outside [" + std::to_string(low) + ", " +
                                std::to_string(high) + "]");
  }
  return value;
}

}  // namespace

DistributedEnv read_distributed_env(const std::function<const char*(const char*)>& lookup_or_default) {
  const auto lookup = lookup_or_default ? lookup_or_default : [](const char* name) -> const char* { return std::getenv(name); };
  DistributedEnv env;
  const char* addr = lookup("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    throw std::invalid_argument("MASTER_ADDR is not set (a distributed run needs MASTER_ADDR, MASTER_PORT, RANK and "
                                "WORLD_SIZE)");
  }
  env.master_addr = addr;
  env.master_port = integer_variable(lookup, "MASTER_PORT", 1, 65535);
  env.world_size = integer_variable(lookup, "WORLD_SIZE", 1, 1 << 20);
  env.rank = integer_variable(lookup, "RANK", 0, env.world_size - 1);
  env.local_rank = integer_variable(lookup, "LOCAL_RANK", 0, env.world_size - 1, &env.rank);
  return env;
}

c10::intrusive_ptr<c10d::ProcessGroup> make_gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                       int64_t world_size, const ProcessGroupOptions& options) {
  if (world_size < 1) throw std::invalid_argument("world size must be >= 1, got " + std::to_string(world_size));
  if (rank < 0 || rank >= world_size) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " outside [0, " + std::to_string(world_size) + ")");
  }
  auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout());
  // The network interface: GLOO_SOCKET_IFNAME (as PyTorch reads it), else the one the host name resolves to.
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  gloo->devices.push_back(interface != nullptr && *interface != '\0'
                              ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                              : c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(world_size), gloo);
}

c10::intrusive_ptr<c10d::ProcessGroup> connect(const DistributedEnv& env, const ProcessGroupOptions& options) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env.master_port);
  store_options.isServer = env.rank == 0;
  store_options.numWorkers = static_cast<size_t>(env.world_size);
  store_options.waitWorkers = false;
  store_options.timeout = options.timeout();
  auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  return make_gloo_group(store, env.rank, env.world_size, options);
}

}  // namespace deepsc::dist
