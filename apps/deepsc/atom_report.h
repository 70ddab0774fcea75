#pragma once
// How `learn-dict` and `show-dict` report the receptive-field statistics of a dense grey
// dictionary (dictlearn/atom_statistics.h) beside those of a random dictionary of the same shape.

#include "deepsc/dictlearn/atom_statistics.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

namespace deepsc::cli {

inline nlohmann::json atom_summary_json(const dictlearn::AtomStatisticsSummary& s) {
  return {{"atoms", s.atoms},
          {"oriented_band_pass", s.oriented_band_pass},
          {"oriented", s.oriented},
          {"band_pass", s.band_pass},
          {"localized", s.localized},
          {"mean_orientation_concentration", s.mean_orientation_concentration},
          {"mean_frequency_concentration", s.mean_frequency_concentration},
          {"mean_spatial_spread", s.mean_spatial_spread}};
}

/// "62% oriented and band-pass (oriented 70%, band-pass 81%, localized 55%)".
inline std::string atom_summary_text(const dictlearn::AtomStatisticsSummary& s) {
  std::ostringstream t;
  t << std::fixed << std::setprecision(0) << 100 * s.oriented_band_pass << "% oriented and band-pass (oriented "
    << 100 * s.oriented << "%, band-pass " << 100 * s.band_pass << "%, localized " << 100 * s.localized << "%)";
  return t.str();
}

/// {"learned": ..., "random": ...} for atoms D [p², m] (grey p × p patches).
inline nlohmann::json atom_statistics_report(const torch::Tensor& atoms, int64_t patch, uint64_t seed,
                                             std::string* text = nullptr) {
  const auto learned = dictlearn::summarize_atoms(atoms.to(torch::kDouble));
  const auto random = dictlearn::random_dictionary_summary(patch, atoms.size(1), seed);
  if (text) *text = "atoms:  " + atom_summary_text(learned) + "\nrandom: " + atom_summary_text(random) + " (same shape, Gaussian)";
  return {{"learned", atom_summary_json(learned)}, {"random", atom_summary_json(random)}};
}

}  // namespace deepsc::cli
