#include "deepsc/data/number_text.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace deepsc::data {

namespace {

bool starts_plainly(const std::string& text) {
  return !text.empty() && !std::isspace(static_cast<unsigned char>(text.front()));
}

}  // namespace

std::optional<double> parse_double(const std::string& text) {
  if (!starts_plainly(text)) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> parse_int64(const std::string& text) {
  if (!starts_plainly(text)) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(value);
}

}  // namespace deepsc::data
