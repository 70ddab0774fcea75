#pragma once
/// \file
/// Numbers as users type them on the command line (grids, per-layer lists, attack budgets), in
/// plain C++: the one place that reads a token as a whole number, so every option agrees on what
/// " 1", "1x" or "" are (not numbers).

#include <cstdint>
#include <optional>
#include <string>

namespace deepsc::data {

/// The whole of `text` as a double (strtod's syntax: "0.5", "1e-3", "inf", "nan"), or nullopt when
/// it is empty, starts with a blank or has anything after the number. Range and finiteness are the
/// caller's to check (an overflow reads as ±inf).
std::optional<double> parse_double(const std::string& text);

/// The whole of `text` as a base-10 int64, or nullopt when it is empty, starts with a blank, has
/// anything after the digits or is out of range.
std::optional<int64_t> parse_int64(const std::string& text);

}  // namespace deepsc::data
