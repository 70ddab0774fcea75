// Data-parallel building blocks on loopback: ranks are threads of this process, each with its own
// Gloo process group over one TCP store (the transport is the one separate processes use).
#include "deepsc/dist/gradient_sync.h"
#include "deepsc/dist/process_group.h"

#include "loopback_ranks.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace {

namespace dd = deepsc::dist;
using dd::testing::run_ranks;

TEST(DistributedEnv, ReadsTheLaunchersVariablesAndNamesBadOnes) {
  std::map<std::string, std::string> vars{{"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29400"}, {"RANK", "2"},
                                          {"WORLD_SIZE", "4"}};
  const auto lookup = [&vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  auto env = dd::read_distributed_env(lookup);
  EXPECT_EQ(env.master_addr, "10.0.0.1");
  EXPECT_EQ(env.master_port, 29400);
  EXPECT_EQ(env.rank, 2);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 2) << "LOCAL_RANK defaults to RANK";
  vars["LOCAL_RANK"] = "0";
  EXPECT_EQ(dd::read_distributed_env(lookup).local_rank, 0);
  for (const auto& [name, value, needle] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"RANK", "4", "RANK=4 is outside"}, {"WORLD_SIZE", "two", "WORLD_SIZE=two"}, {"MASTER_PORT", "0", "MASTER_PORT"},
           {"MASTER_ADDR", "", "MASTER_ADDR is not set"}}) {
    auto saved = vars;
    vars[name] = value;
    try {
      dd::read_distributed_env(lookup);
      ADD_FAILURE() << name << "=" << value << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    vars = saved;
  }
  vars.erase("RANK");
  EXPECT_THROW(dd::read_distributed_env(lookup), std::invalid_argument);
}

TEST(GradientSync, BroadcastCopiesBuffersToo) {
  run_ranks(2, [](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& shared) {
    auto& group = *shared;
    torch::nn::BatchNorm1d norm(4);
    norm->train();
    norm->forward(torch::randn({8, 4}) + static_cast<double>(rank));  // different running statistics
    dd::broadcast_state(group, *norm);
    std::vector<torch::Tensor> mean{norm->running_mean.clone()};
    std::vector<torch::Tensor> spread{norm->running_mean.clone()};
    group.allreduce(spread, c10d::AllreduceOptions{c10d::ReduceOp::MAX})->wait();
    EXPECT_TRUE(mean[0].equal(spread[0])) << "every rank holds rank 0's running mean";
  });
}

TEST(GradientSync, AStalledOrDeadRankMakesTheOthersFailInsteadOfHanging) {
  // Stalled: rank 1 is alive but never joins the all-reduce; rank 0 fails after the 1.5 s timeout.
  std::chrono::steady_clock::duration waited{};
  bool failed = false;
  run_ranks(
      2,
      [&](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& shared) {
        auto& group = *shared;
        if (rank == 1) {
          std::this_thread::sleep_for(std::chrono::seconds(4));
          return;
        }
        const auto start = std::chrono::steady_clock::now();
        try {
          std::vector<torch::Tensor> t{torch::ones({4})};
          group.allreduce(t)->wait();
        } catch (const std::exception&) {
          failed = true;
        }
        waited = std::chrono::steady_clock::now() - start;
      },
      std::chrono::milliseconds(1500));
  EXPECT_TRUE(failed);
  EXPECT_GE(waited, std::chrono::milliseconds(1400));
  EXPECT_LT(waited, std::chrono::milliseconds(3900)) << "the timeout, not the stalled rank's return, ended the wait";
  // Dead: rank 1 leaves (its group is destroyed); rank 0's collective fails at once.
  EXPECT_THROW(run_ranks(2,
                         [](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& shared) {
                           auto& group = *shared;
                           if (rank == 1) return;
                           std::vector<torch::Tensor> t{torch::ones({4})};
                           group.allreduce(t)->wait();
                         },
                         std::chrono::milliseconds(1500)),
               std::exception);
}

}  // namespace
