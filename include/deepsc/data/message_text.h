#pragma once
/// \file
/// One-line error text, in plain C++ (no LibTorch): the one place where deepsc turns a path, a
/// quoted piece of a file or a library's message into text that stays on one printable line.
/// The parsers (npy, IDX, CIFAR, SVHN, image files) build their messages with one_line(); the
/// command line prints the first_line() of whatever an error says.

#include <cstddef>
#include <string>
#include <string_view>

namespace deepsc::data {

/// Default cap of one_line(): a path or a quoted header is cut after this many bytes.
inline constexpr size_t kOneLineMaxBytes = 400;

/// Default cap of first_line(): a whole message "<name>: <problem>" of two capped parts fits.
inline constexpr size_t kFirstLineMaxBytes = 1000;

/// `text` on one printable line.
/// Ensures: control bytes (below 0x20, and 0x7f), C1 control characters (U+0080..U+009F) and
/// bytes that are not well-formed UTF-8 are written as "\xNN" (so a path holding '\n', or hostile
/// file content holding terminal escapes, can neither break the line nor drive the terminal);
/// printable ASCII and well-formed UTF-8 (λ, ‖·‖) are kept as they are. The result holds at most
/// `max_bytes` bytes before a final "..." that marks a cut, and is never cut inside an escape or
/// inside a UTF-8 character.
std::string one_line(std::string_view text, size_t max_bytes = kOneLineMaxBytes);

/// The first line of `message`, made printable by one_line(): LibTorch's errors put a backtrace
/// after their first line, and a command prints only the first.
/// Ensures: the text before the first '\n' (a trailing '\r' dropped), escaped and capped as
/// one_line(text, max_bytes) does.
std::string first_line(std::string_view message, size_t max_bytes = kFirstLineMaxBytes);

}  // namespace deepsc::data
