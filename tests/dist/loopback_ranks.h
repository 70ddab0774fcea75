#pragma once
// Ranks as threads of one test process, each with its own Gloo process group over one TCP store on
// loopback (the transport separate processes use).
#include "deepsc/dist/process_group.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace deepsc::dist::testing {

/// Runs body(rank, group) on `world` threads, one Gloo group each, and rethrows the first failure.
inline void run_ranks(int64_t world,
                      const std::function<void(int64_t, const c10::intrusive_ptr<c10d::ProcessGroup>&)>& body,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  c10d::TCPStoreOptions server_options;
  server_options.port = 0;  // any free port
  server_options.isServer = true;
  server_options.numWorkers = static_cast<size_t>(world);
  server_options.waitWorkers = false;
  auto server = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", server_options);
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  for (int64_t r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        c10::intrusive_ptr<c10d::Store> store = server;
        if (r > 0) {
          c10d::TCPStoreOptions client;
          client.port = server->getPort();
          client.isServer = false;
          store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", client);
        }
        const auto group = make_gloo_group(store, r, world, ProcessGroupOptions().timeout(timeout));
        body(r, group);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace deepsc::dist::testing
