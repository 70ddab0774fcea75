#include "deepsc/mlcsc/levels.h"

#include "deepsc/data/message_text.h"
#include "deepsc/data/number_text.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace {

constexpr size_t kMaxValues = 10000;

[[noreturn]] void fail(const std::string& option, const std::string& what) {
  throw std::invalid_argument(option + ": " + what);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

double parse_number(const std::string& token, const std::string& option) {
  const auto value = data::parse_double(token);
  if (!value || !std::isfinite(*value)) fail(option, "'" + data::one_line(token) + "' is not a finite number");
  return *value;
}

int64_t parse_integer(const std::string& token, const std::string& option) {
  const auto value = data::parse_int64(token);
  if (!value) fail(option, "'" + data::one_line(token) + "' is not an integer");
  return *value;
}

std::vector<double> parse_list(const std::string& text, const std::string& option) {
  std::vector<double> values;
  for (const auto& token : split(text, ',')) values.push_back(parse_number(token, option));
  return values;
}

}  // namespace

std::vector<double> parse_levels(const std::string& text, const std::string& option, double minimum) {
  if (text.empty()) fail(option, "no values given");
  std::vector<double> values;
  const auto colon = split(text, ':');
  if (colon.size() == 3) {
    const double first = parse_number(colon[0], option);
    const double last = parse_number(colon[1], option);
    const int64_t count = parse_integer(colon[2], option);
    if (count < 1 || static_cast<size_t>(count) > kMaxValues) {
      fail(option, "the count after the second ':' must be in [1, " + std::to_string(kMaxValues) + "], got " +
                       std::to_string(count));
    }
    if (count == 1 && first != last) fail(option, "one value cannot run from " + colon[0] + " to " + colon[1]);
    for (int64_t i = 0; i < count; ++i) {
      values.push_back(count == 1 ? first : first + (last - first) * static_cast<double>(i) / static_cast<double>(count - 1));
    }
  } else if (colon.size() == 1) {
    values = parse_list(text, option);
  } else {
    fail(option, "'" + data::one_line(text) + "' is neither first:last:count nor a list a,b,c");
  }
  if (values.size() > kMaxValues) fail(option, "more than " + std::to_string(kMaxValues) + " values");
  for (double v : values) {
    if (v < minimum) {
      std::ostringstream msg;
      msg << "values must be >= " << minimum << ", got " << v;
      fail(option, msg.str());
    }
  }
  return values;
}

std::vector<int64_t> parse_integer_range(const std::string& text, const std::string& option, int64_t minimum) {
  if (text.empty()) fail(option, "no values given");
  std::vector<int64_t> values;
  const auto colon = split(text, ':');
  if (colon.size() == 2) {
    const int64_t first = parse_integer(colon[0], option);
    const int64_t last = parse_integer(colon[1], option);
    if (first > last) fail(option, "the range " + text + " runs backwards");
    if (first < minimum) fail(option, "values must be >= " + std::to_string(minimum) + ", got " + std::to_string(first));
    if (static_cast<uint64_t>(last - first) >= kMaxValues) fail(option, "more than " + std::to_string(kMaxValues) + " values");
    for (int64_t v = first; v <= last; ++v) values.push_back(v);
  } else if (colon.size() == 1) {
    for (const auto& token : split(text, ',')) {
      values.push_back(parse_integer(token, option));
      if (values.back() < minimum) {
        fail(option, "values must be >= " + std::to_string(minimum) + ", got " + std::to_string(values.back()));
      }
    }
    if (values.size() > kMaxValues) fail(option, "more than " + std::to_string(kMaxValues) + " values");
  } else {
    fail(option, "'" + data::one_line(text) + "' is neither first:last nor a list a,b,c");
  }
  return values;
}

std::vector<double> parse_layer_values(const std::string& text, const std::string& option) {
  if (text.empty()) fail(option, "no values given");
  auto values = parse_list(text, option);
  for (double v : values) {
    if (v < 0) fail(option, "values must be >= 0, got " + std::to_string(v));
  }
  return values;
}

}  // namespace deepsc::mlcsc
