#include "deepsc/viz/gnuplot.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace deepsc::viz {

namespace {

/// The full path of `program` on PATH, or empty.
std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t begin = 0;
  while (begin <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', begin), dirs.size());
    const std::string dir = dirs.substr(begin, end - begin);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    begin = end + 1;
  }
  return {};
}

/// Closes a descriptor once.
struct Descriptor {
  int fd = -1;
  ~Descriptor() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

/// posix_spawn file actions, destroyed on scope exit.
struct FileActions {
  posix_spawn_file_actions_t actions{};
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
};

GnuplotRun failure(const std::string& message) { return {false, message}; }

}  // namespace

bool gnuplot_available() { return !find_on_path("gnuplot").empty(); }

GnuplotRun run_gnuplot(const std::string& script, const std::string& working_directory, const std::string& log_path) {
  const auto program = find_on_path("gnuplot");
  if (program.empty()) return failure("gnuplot is not installed (not found on PATH)");
  std::error_code error;
  if (!std::filesystem::is_directory(working_directory, error))
    return failure("gnuplot: working folder '" + working_directory + "' does not exist");
  const auto log = std::filesystem::absolute(log_path, error).string();
  if (error) return failure("gnuplot: bad log path '" + log_path + "': " + error.message());

  // A socket rather than a pipe for the script: send(MSG_NOSIGNAL) reports a gnuplot that exits
  // early as an error instead of raising SIGPIPE in this process. Close-on-exec, so the child keeps
  // only its end, as descriptor 0.
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    return failure(std::string("gnuplot: cannot create its input: ") + std::strerror(errno));
  Descriptor parent{ends[0]}, child{ends[1]};

  FileActions file;
  if (posix_spawn_file_actions_adddup2(&file.actions, child.fd, STDIN_FILENO) != 0 ||
      posix_spawn_file_actions_addopen(&file.actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644) != 0 ||
      posix_spawn_file_actions_adddup2(&file.actions, STDOUT_FILENO, STDERR_FILENO) != 0 ||
      posix_spawn_file_actions_addchdir_np(&file.actions, working_directory.c_str()) != 0)
    return failure("gnuplot: cannot prepare its start");
  std::vector<char*> argv{const_cast<char*>(program.c_str()), nullptr};
  pid_t pid = -1;
  const int started = ::posix_spawn(&pid, program.c_str(), &file.actions, nullptr, argv.data(), environ);
  child.reset();
  if (started != 0) return failure("gnuplot: cannot start " + program + ": " + std::strerror(started));

  bool sent = true;
  for (size_t offset = 0; offset < script.size();) {
    const ssize_t n = ::send(parent.fd, script.data() + offset, script.size() - offset, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      sent = false;
      break;
    }
    offset += static_cast<size_t>(n);
  }
  parent.reset();  // end of the script

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return failure(std::string("gnuplot: cannot wait for it: ") + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sent) return {true, {}};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return failure("gnuplot could not run in '" + working_directory + "' (see " + log + ")");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return failure("gnuplot exited with status " + std::to_string(WEXITSTATUS(status)) + " (see " + log + ")");
  if (WIFSIGNALED(status))
    return failure("gnuplot was killed by signal " + std::to_string(WTERMSIG(status)) + " (see " + log + ")");
  return failure("gnuplot stopped reading its script (see " + log + ")");
}

}  // namespace deepsc::viz
