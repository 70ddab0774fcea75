#pragma once
/// \file
/// Atomic file replacement, in plain C++ (no LibTorch): the one place where deepsc writes a file
/// so that readers see either the old file or the complete new one (.npy arrays, checkpoints,
/// PNG pictures, run metrics, reports).
///
/// The bytes go to a temporary file "<path>.tmp.<pid>.<n>" in the same directory (so the rename
/// stays on one filesystem), which is then renamed over `path`. There is no fsync: the guarantee
/// is against a crash or a kill of this process, not against power loss.

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace deepsc::data {

/// Error of the atomic writes: what() is the one line "<path>: <problem>" (both made printable by
/// one_line, deepsc/data/message_text.h).
class FileWriteError : public std::runtime_error {
 public:
  FileWriteError(const std::string& path, const std::string& problem);
  /// The path that could not be written, as given.
  const std::string& path() const { return path_; }
  /// What went wrong, without the path.
  const std::string& problem() const { return problem_; }

 private:
  std::string path_, problem_;
};

/// Writes `contents` to `path` atomically (see the file comment), replacing any existing file.
/// Ensures: on success `path` holds exactly `contents` and no temporary file is left; on failure
/// `path` is as it was and the temporary file is removed.
/// \throws FileWriteError naming `path` (a missing or unwritable directory, a full disk, a
/// directory in the way of the rename).
void write_file_atomically(const std::string& path, std::string_view contents);

/// Atomic write through a library that opens the file itself (torch::save, a PNG encoder):
/// `writer(temp_path)` must create and fill `temp_path`, and throw if it cannot.
/// Ensures as write_file_atomically: on success the temporary file has been renamed over `path`;
/// if `writer` throws, or leaves no file, or the rename fails, the temporary file is removed and
/// `path` is as it was.
/// \throws FileWriteError naming `path`, with the first line of the writer's own message.
void write_file_atomically_with(const std::string& path,
                                const std::function<void(const std::string& temp_path)>& writer);

}  // namespace deepsc::data
