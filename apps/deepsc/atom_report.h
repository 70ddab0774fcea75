#pragma once
// How `learn-dict` and `show-dict` report the receptive-field statistics of a dense grey
// dictionary beside those of a random dictionary of the same shape; the numbers and their text
// come from dictlearn::compare_with_random, summary_rows and describe (dictlearn/atom_statistics.h).

#include "deepsc/dictlearn/atom_statistics.h"

#include <nlohmann/json.hpp>

#include <string>

namespace deepsc::cli {

/// {"learned": {...}, "random": {...}} for atoms D [p², m] (grey p × p patches); `text`, when
/// given, receives the two lines printed beside it.
inline nlohmann::json atom_statistics_report(const torch::Tensor& atoms, uint64_t seed, std::string* text = nullptr) {
  const auto comparison = dictlearn::compare_with_random(atoms, seed);
  auto summary = [](const dictlearn::AtomStatisticsSummary& s) {
    nlohmann::json j{{"atoms", s.atoms}};
    for (const auto& [name, value] : dictlearn::summary_rows(s)) j[name] = value;
    return j;
  };
  if (text)
    *text = "atoms:  " + dictlearn::describe(comparison.learned) + "\nrandom: " + dictlearn::describe(comparison.random) +
            " (same shape, Gaussian)";
  return {{"learned", summary(comparison.learned)}, {"random", summary(comparison.random)}};
}

}  // namespace deepsc::cli
