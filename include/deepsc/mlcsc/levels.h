#pragma once
/// The value lists of the ML-CSC simulation as a user writes them on the command line.

#include <cstdint>
#include <string>
#include <vector>

namespace deepsc::mlcsc {

/// Parses "first:last:count" (count ≥ 1 values evenly spaced from first to last inclusive, as
/// linspace: "0:0.2:11" is 0, 0.02, …, 0.2) or a list "a,b,c". Values are finite, ≥ `minimum` and
/// at most 10000. Throws std::invalid_argument with a one-line message starting with `option`
/// ("--noise: …") otherwise.
std::vector<double> parse_levels(const std::string& text, const std::string& option, double minimum = 0);

/// Parses an integer range "first:last" (inclusive, first ≤ last) or a list "a,b,c" of integers
/// ≥ `minimum`, at most 10000 values; errors as parse_levels.
std::vector<int64_t> parse_integer_range(const std::string& text, const std::string& option, int64_t minimum = 1);

/// Parses a per-layer list "a,b,c" of values ≥ 0 (β or λ of each layer); errors as parse_levels.
std::vector<double> parse_layer_values(const std::string& text, const std::string& option);

}  // namespace deepsc::mlcsc
