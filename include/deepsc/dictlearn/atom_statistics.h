#pragma once
/// Numbers for "the learned atoms are localized, oriented and band-pass" (Olshausen & Field 1996,
/// Nature 381), so that a dictionary learned on natural images can be told from a random one
/// without looking at pictures.
///
/// Atoms are the columns of D [p·p, m], each a p×p patch in the layout of data/patches.h
/// (a[u·p + v] = pixel at row u, column v). For an atom a with mean ā:
///   S(f) = |DFT_P(a − ā)|²   the power spectrum of the mean-removed atom zero-padded to P × P,
///                            P = padding·p, f = (f_row, f_col) in cycles per pixel on the P-grid;
///   E = Σ_f S(f)             (= P² ‖a − ā‖²), the energy all fractions below are relative to;
///   θ(f) = atan2(f_row, f_col) mod 180°   the direction of the wave vector: 0° for a grating
///                            varying along columns (vertical stripes), 90° for horizontal stripes;
///   f_low = 1/(2p)           half the lowest frequency a p-pixel window resolves.
/// Per atom:
///   orientation θ* — the energy-weighted axial (doubled-angle) mean ½ arg Σ S(f) e^{2iθ(f)} over
///     the annulus A = {f_low ≤ |f| ≤ ½};
///   frequency f* = |f̂|, f̂ = argmax_f S(f), the spectral peak (f_peak_row, f_peak_col likewise);
///   orientation concentration = Σ_{f ∈ A, |θ(f) − θ*| ≤ window (mod 180°)} S(f) / E — 1/6 for an
///     isotropic spectrum with the default ±15°, near 1 for a long grating;
///   frequency concentration = Σ_{f* / √2 ≤ |f| ≤ √2 f*} S(f) / E, the energy in the octave around
///     the peak;
///   low-frequency fraction = (p² ā² + Σ_{|f| < f_low} S(f) / P²) / ‖a‖², the share of the
///     atom's energy in its mean and the lowest ring;
///   spatial spread = (Var_u + Var_v) / (2 (p² − 1)/12), the second moment of the pixel energy a²
///     about its centroid, relative to that of a flat atom: 1 for energy spread evenly, 0 for a
///     single pixel.
/// Classification:
///   oriented  ⇔ orientation concentration ≥ oriented_threshold;
///   band-pass ⇔ f* ≥ f_low (peak not at DC), max(|f̂_row|, |f̂_col|) ≤ ½ − f_low (peak not at
///               Nyquist), and low-frequency fraction ≤ low_frequency_threshold;
///   localized ⇔ spatial spread ≤ localized_threshold.
/// Band-pass as defined excludes low-pass (DC-dominated) and Nyquist-peaked atoms only: atoms with
/// a white spectrum (a delta, most Gaussian-noise atoms) count as band-pass, which is why the
/// headline number of a dictionary is the fraction both oriented and band-pass.
/// A flat (constant) atom has E = 0: its concentrations and frequency are 0, its low-frequency
/// fraction and spread 1, so it is neither oriented, band-pass nor localized (an all-zero atom too).

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace deepsc::dictlearn {

struct AtomStatisticsOptions {
  /// P = padding · p, the size of the zero-padded FFT (≥ 1; 4 resolves the spectrum in steps of
  /// 1/(4p) cycles per pixel).
  TORCH_ARG(int64_t, padding) = 4;
  /// Half-width, in degrees, of the orientation window of the concentration, in (0, 90).
  TORCH_ARG(double, orientation_window) = 15.0;
  /// Orientation concentration from which an atom is "oriented". An isotropic spectrum gives 1/6
  /// (256 Gaussian 8×8 atoms: mean 0.18, at most one atom of 256 above 0.4 over seven seeds); Gabor
  /// atoms with a Gaussian envelope of 2–2.5 pixels at 0.2–0.3 cycles per pixel give 0.6–0.93.
  TORCH_ARG(double, oriented_threshold) = 0.4;
  /// Largest low-frequency fraction of a "band-pass" atom (a flat atom has 1).
  TORCH_ARG(double, low_frequency_threshold) = 0.2;
  /// Largest spatial spread of a "localized" atom (a flat or white-noise atom has ≈ 1).
  TORCH_ARG(double, localized_threshold) = 0.5;
};

/// Per-atom statistics, each [m] (float64 or bool) on the dictionary's device.
struct AtomStatistics {
  torch::Tensor orientation;                ///< θ*, degrees in [0, 180)
  torch::Tensor frequency;                  ///< f*, cycles per pixel
  torch::Tensor orientation_concentration;  ///< in [0, 1]
  torch::Tensor frequency_concentration;    ///< in [0, 1]
  torch::Tensor low_frequency_fraction;     ///< in [0, 1]
  torch::Tensor spatial_spread;             ///< ≥ 0
  torch::Tensor oriented;                   ///< bool
  torch::Tensor band_pass;                  ///< bool
  torch::Tensor localized;                  ///< bool
};

/// Dictionary-level summary: fractions of the m atoms and means over them.
struct AtomStatisticsSummary {
  int64_t atoms = 0;
  double oriented_band_pass = 0;  ///< fraction both oriented and band-pass: the headline number
  double oriented = 0;
  double band_pass = 0;
  double localized = 0;
  double mean_orientation_concentration = 0;
  double mean_frequency_concentration = 0;
  double mean_spatial_spread = 0;  ///< lower is more localized
};

/// The statistics of every atom of D [p·p, m] (any floating dtype, computed in float64; any device).
/// Requires a floating rank-2 tensor, p·p rows with p ≥ 2, m ≥ 1, finite entries, valid options;
/// throws std::invalid_argument naming the argument otherwise. Atom norms do not matter.
AtomStatistics atom_statistics(const torch::Tensor& atoms, const AtomStatisticsOptions& options = {});

/// Fractions and means of `stats` over its atoms.
AtomStatisticsSummary summarize(const AtomStatistics& stats);

/// summarize(atom_statistics(atoms, options)).
AtomStatisticsSummary summarize_atoms(const torch::Tensor& atoms, const AtomStatisticsOptions& options = {});

/// The reference a learned dictionary is compared with: the summary of a random dictionary of the
/// same shape, p·p × m i.i.d. standard Gaussian entries drawn from a CPU generator seeded with
/// `seed` (so the same on every machine). Requires p ≥ 2, m ≥ 1.
AtomStatisticsSummary random_dictionary_summary(int64_t patch, int64_t atoms, uint64_t seed = 0,
                                                const AtomStatisticsOptions& options = {});

/// A dictionary's summary beside its reference: random_dictionary_summary of the same shape.
struct AtomStatisticsComparison {
  AtomStatisticsSummary learned;
  AtomStatisticsSummary random;
};

/// summarize_atoms(atoms) and random_dictionary_summary(p, m, seed) for atoms D [p·p, m]. Same
/// requirements and errors as atom_statistics.
AtomStatisticsComparison compare_with_random(const torch::Tensor& atoms, uint64_t seed = 0,
                                             const AtomStatisticsOptions& options = {});

/// The fractions and means of a summary by name, in a fixed order, for reports:
/// oriented_band_pass, oriented, band_pass, localized, mean_orientation_concentration,
/// mean_frequency_concentration, mean_spatial_spread (the count `atoms` is left to the caller).
std::vector<std::pair<std::string, double>> summary_rows(const AtomStatisticsSummary& summary);

/// "62% oriented and band-pass (oriented 70%, band-pass 81%, localized 55%)": whole percents.
std::string describe(const AtomStatisticsSummary& summary);

}  // namespace deepsc::dictlearn
