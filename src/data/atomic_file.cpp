#include "deepsc/data/atomic_file.h"

#include "deepsc/data/message_text.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace deepsc::data {
namespace {

// "<path>.tmp.<pid>.<n>": the pid keeps two processes apart, the counter two threads.
std::string temporary_path(const std::string& path) {
  static std::atomic<unsigned long> counter{0};
  return path + ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(counter++);
}

std::string errno_text(int err) { return err != 0 ? std::string(": ") + std::strerror(err) : std::string(); }

}  // namespace

FileWriteError::FileWriteError(const std::string& path, const std::string& problem)
    : std::runtime_error(one_line(path) + ": " + one_line(problem)), path_(path), problem_(problem) {}

void write_file_atomically_with(const std::string& path,
                                const std::function<void(const std::string& temp_path)>& writer) {
  if (path.empty()) throw FileWriteError(path, "cannot write to an empty path");
  const std::string temp = temporary_path(path);
  try {
    writer(temp);
  } catch (const FileWriteError& e) {
    std::remove(temp.c_str());
    throw FileWriteError(path, e.problem());
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    throw FileWriteError(path, "cannot write: " + first_line(e.what()));
  } catch (...) {
    std::remove(temp.c_str());
    throw FileWriteError(path, "cannot write: unknown error");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    throw FileWriteError(path, "cannot rename the temporary file into place" + errno_text(err));
  }
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically_with(path, [&](const std::string& temp) {
    struct Closer {
      void operator()(std::FILE* f) const { std::fclose(f); }
    };
    errno = 0;
    std::unique_ptr<std::FILE, Closer> f(std::fopen(temp.c_str(), "wb"));
    if (!f) throw FileWriteError(path, "cannot create the temporary file '" + temp + "'" + errno_text(errno));
    errno = 0;
    const size_t written = contents.empty() ? 0 : std::fwrite(contents.data(), 1, contents.size(), f.get());
    int err = errno;
    bool ok = written == contents.size();
    if (std::fclose(f.release()) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (!ok) throw FileWriteError(path, "cannot write the temporary file '" + temp + "'" + errno_text(err));
  });
}

}  // namespace deepsc::data
