#include "deepsc/dist/local_launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace deepsc::dist {

namespace {

// The running ranks, for the signal handler (async-signal-safe: a fixed array of atomics).
constexpr int kMaxRanks = 1024;
std::atomic<pid_t> g_ranks[kMaxRanks];
std::atomic<int> g_rank_count{0};

void forward_signal(int signal) {
  const int n = g_rank_count.load();
  for (int i = 0; i < n; ++i) {
    const pid_t pid = g_ranks[i].load();
    if (pid > 0) kill(pid, signal);
  }
}

/// Installs forward_signal for SIGINT and SIGTERM for its lifetime.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~SignalForwarding() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
    g_rank_count.store(0);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction previous_int_ {}, previous_term_ {};
};

/// The environment of rank `rank`: the launcher's own, without the variables set here, plus them.
std::vector<std::string> rank_environment(const LocalLaunch& launch, int64_t port, int64_t rank) {
  static const char* kSet[] = {"MASTER_ADDR=", "MASTER_PORT=", "RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE="};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const char* prefix : kSet) replaced = replaced || std::strncmp(*e, prefix, std::strlen(prefix)) == 0;
    if (!replaced) env.emplace_back(*e);
  }
  env.push_back("MASTER_ADDR=" + launch.master_addr);
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(launch.processes));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(launch.processes));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

int64_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("free_port: socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok) throw std::runtime_error(std::string("free_port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

LaunchResult launch_local(const LocalLaunch& launch) {
  if (launch.processes < 1 || launch.processes > kMaxRanks) {
    throw std::invalid_argument("--nproc must be in [1, " + std::to_string(kMaxRanks) + "], got " +
                                std::to_string(launch.processes));
  }
  if (launch.program.empty()) throw std::invalid_argument("launch: no program to run");
  const int64_t port = launch.master_port > 0 ? launch.master_port : free_port();
  SignalForwarding forwarding;
  std::vector<pid_t> pids;
  for (int64_t r = 0; r < launch.processes; ++r) {
    std::vector<std::string> argv{launch.program};
    argv.insert(argv.end(), launch.arguments.begin(), launch.arguments.end());
    auto env = rank_environment(launch, port, r);
    auto argv_pointers = pointers(argv), env_pointers = pointers(env);
    pid_t pid = 0;
    const int error = posix_spawn(&pid, launch.program.c_str(), nullptr, nullptr, argv_pointers.data(), env_pointers.data());
    if (error != 0) {
      for (const pid_t p : pids) kill(p, SIGTERM);
      for (const pid_t p : pids) waitpid(p, nullptr, 0);
      throw std::runtime_error("launch: cannot start " + launch.program + " for rank " + std::to_string(r) + ": " +
                               std::strerror(error));
    }
    pids.push_back(pid);
    g_ranks[r].store(pid);
    g_rank_count.store(static_cast<int>(r + 1));
  }
  LaunchResult result;
  size_t running = pids.size();
  while (running > 0) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int64_t rank = -1;
    for (size_t i = 0; i < pids.size(); ++i)
      if (pids[i] == done) rank = static_cast<int64_t>(i), pids[i] = -pids[i], g_ranks[i].store(0);
    if (rank < 0) continue;
    --running;
    const int code = exit_code_of(status);
    if (code != 0 && result.exit_code == 0) {
      result.exit_code = code;
      result.message = "rank " + std::to_string(rank) + " of " + std::to_string(launch.processes) +
                       (WIFEXITED(status) ? " exited with status " + std::to_string(code)
                                          : " was killed by signal " + std::to_string(WTERMSIG(status))) +
                       "; stopping the other ranks";
      for (const pid_t p : pids)
        if (p > 0) kill(p, SIGTERM);
    }
  }
  if (result.exit_code == 0) result.message = std::to_string(launch.processes) + " ranks finished";
  return result;
}

}  // namespace deepsc::dist
