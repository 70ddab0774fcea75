#include "deepsc/robust/lambda_grid.h"

#include "deepsc/data/number_text.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>

namespace deepsc::robust {

namespace {

double lambda_value(const std::string& item) {
  const auto v = data::parse_double(item);
  if (!v || !std::isfinite(*v) || *v < 0)
    throw std::invalid_argument("--lambda-grid: '" + item + "' is not a lambda >= 0 (use a:b:step or a,b,c)");
  return *v;
}

}  // namespace

std::vector<double> parse_lambda_grid(const std::string& text) {
  std::vector<std::string> parts;
  const char sep = text.find(':') != std::string::npos ? ':' : ',';
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, sep);) parts.push_back(item);
  if (!text.empty() && text.back() == sep) parts.push_back("");
  std::vector<double> grid;
  if (sep == ':') {
    if (parts.size() != 3) throw std::invalid_argument("--lambda-grid: a range is first:last:step, got '" + text + "'");
    const double first = lambda_value(parts[0]), last = lambda_value(parts[1]), step = lambda_value(parts[2]);
    if (!(step > 0) || last < first)
      throw std::invalid_argument("--lambda-grid: need first <= last and step > 0 in '" + text + "'");
    const auto count = static_cast<int64_t>(std::floor((last - first) / step + 1e-9)) + 1;
    if (count > 10000) throw std::invalid_argument("--lambda-grid: more than 10000 values in '" + text + "'");
    for (int64_t i = 0; i < count; ++i) grid.push_back(std::round((first + i * step) * 1e9) / 1e9);
  } else {
    for (const auto& item : parts) grid.push_back(lambda_value(item));
  }
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  if (grid.empty()) throw std::invalid_argument("--lambda-grid: no values");
  return grid;
}

}  // namespace deepsc::robust
