#include "deepsc/dictlearn/atom_statistics.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace deepsc::dictlearn {

namespace {

[[noreturn]] void atom_statistics_error(const std::string& what) { throw std::invalid_argument("atom_statistics: " + what); }

void check_atom_statistics_options(const AtomStatisticsOptions& o) {
  if (o.padding() < 1) atom_statistics_error("padding must be >= 1, got " + std::to_string(o.padding()));
  if (!(o.orientation_window() > 0 && o.orientation_window() < 90))
    atom_statistics_error("orientation_window must lie in (0, 90) degrees, got " + std::to_string(o.orientation_window()));
  for (const auto& [value, name] : {std::pair{o.oriented_threshold(), "oriented_threshold"},
                                    std::pair{o.low_frequency_threshold(), "low_frequency_threshold"},
                                    std::pair{o.localized_threshold(), "localized_threshold"}}) {
    if (!std::isfinite(value)) atom_statistics_error(std::string(name) + " must be finite");
  }
}

// a / b where b > 0, else `otherwise` (atoms with no energy).
torch::Tensor safe_ratio(const torch::Tensor& a, const torch::Tensor& b, double otherwise) {
  return torch::where(b > 0, a / b.clamp_min(std::numeric_limits<double>::min()), torch::full_like(a, otherwise));
}

double mean_of(const torch::Tensor& t) { return t.to(torch::kDouble).mean().item<double>(); }

}  // namespace

AtomStatistics atom_statistics(const torch::Tensor& atoms, const AtomStatisticsOptions& options) {
  check_atom_statistics_options(options);
  if (!atoms.defined()) atom_statistics_error("atoms tensor is undefined");
  if (atoms.dim() != 2 || !atoms.is_floating_point()) {
    std::ostringstream msg;
    msg << "atoms must be a floating point [p*p, m] matrix, got " << atoms.sizes() << " "
        << c10::toString(atoms.scalar_type());
    atom_statistics_error(msg.str());
  }
  const int64_t n = atoms.size(0), m = atoms.size(1);
  const auto p = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  if (p < 2 || p * p != n) atom_statistics_error("atoms must have p*p rows with p >= 2, got " + std::to_string(n));
  if (m < 1) atom_statistics_error("atoms must have at least one column");
  torch::NoGradGuard no_grad;
  const torch::Tensor a = atoms.to(torch::kDouble).t().reshape({m, p, p});
  if (!torch::isfinite(a).all().item<bool>()) atom_statistics_error("atoms must be finite");

  const auto opts = a.options();
  const int64_t P = options.padding() * p;
  const double pi = std::acos(-1.0);
  const double f_low = 1.0 / (2.0 * static_cast<double>(p));
  const double tol = 1e-12;  // grid frequencies equal to a boundary count as inside

  // The P×P frequency grid (torch.fft order), |f| and the wave-vector orientation θ ∈ [0, π).
  const torch::Tensor fr = torch::fft::fftfreq(P, 1.0, opts).view({P, 1}).expand({P, P});
  const torch::Tensor fc = torch::fft::fftfreq(P, 1.0, opts).view({1, P}).expand({P, P});
  const torch::Tensor radius = (fr.square() + fc.square()).sqrt();
  const torch::Tensor theta = torch::remainder(torch::atan2(fr, fc), pi);

  const torch::Tensor mean = a.mean({1, 2});  // [m]
  const torch::Tensor centred = a - mean.view({m, 1, 1});
  const torch::Tensor power = torch::fft::fft2(centred, std::vector<int64_t>{P, P}).abs().square();  // [m, P, P]
  const torch::Tensor energy = power.sum({1, 2});                                                    // [m]

  AtomStatistics st;
  // θ*: axial mean over the annulus f_low ≤ |f| ≤ ½ (doubled angles, so θ and θ + 180° agree).
  const torch::Tensor annulus = (radius >= f_low - tol).logical_and(radius <= 0.5 + tol).to(opts.dtype());
  const torch::Tensor weighted = power * annulus;
  const torch::Tensor c2 = (weighted * torch::cos(2 * theta)).sum({1, 2});
  const torch::Tensor s2 = (weighted * torch::sin(2 * theta)).sum({1, 2});
  torch::Tensor theta_star = torch::remainder(0.5 * torch::atan2(s2, c2), pi);  // [m]
  theta_star = torch::where(theta_star >= pi, theta_star - pi, theta_star);     // remainder(−0, π) can round to π
  st.orientation = theta_star * (180.0 / pi);

  torch::Tensor gap = torch::remainder(theta.unsqueeze(0) - theta_star.view({m, 1, 1}), pi);
  gap = torch::minimum(gap, pi - gap);
  const double window = options.orientation_window() * pi / 180.0;
  st.orientation_concentration = safe_ratio((weighted * (gap <= window + tol)).sum({1, 2}), energy, 0.0);

  // The spectral peak: f* and its components (a flat atom has S ≡ 0 and "peaks" at DC).
  const torch::Tensor peak = power.reshape({m, P * P}).argmax(1);
  const torch::Tensor peak_row = fr.reshape(-1).index_select(0, peak);
  const torch::Tensor peak_col = fc.reshape(-1).index_select(0, peak);
  st.frequency = radius.reshape(-1).index_select(0, peak);
  const torch::Tensor f_star = st.frequency.view({m, 1, 1});
  const torch::Tensor octave = (radius.unsqueeze(0) >= f_star / std::sqrt(2.0) - tol)
                                   .logical_and(radius.unsqueeze(0) <= f_star * std::sqrt(2.0) + tol);
  st.frequency_concentration = safe_ratio((power * octave).sum({1, 2}), energy, 0.0);

  // Share of ‖a‖² in the mean (p² ā²) and in the lowest ring of the mean-removed spectrum (Parseval:
  // Σ_f S(f) = P² ‖a − ā‖²).
  const torch::Tensor total = a.square().sum({1, 2});
  const torch::Tensor low_ring = (power * (radius < f_low - tol)).sum({1, 2}) / static_cast<double>(P * P);
  st.low_frequency_fraction = safe_ratio(static_cast<double>(p * p) * mean.square() + low_ring, total, 1.0);

  // Second moment of the pixel energy about its centroid, relative to a flat atom's (p² − 1)/12 per axis.
  const torch::Tensor weight = a.square() / total.clamp_min(std::numeric_limits<double>::min()).view({m, 1, 1});
  const torch::Tensor u = torch::arange(p, opts).view({1, p, 1});
  const torch::Tensor v = torch::arange(p, opts).view({1, 1, p});
  const torch::Tensor cu = (weight * u).sum({1, 2}, true), cv = (weight * v).sum({1, 2}, true);
  const torch::Tensor second = (weight * ((u - cu).square() + (v - cv).square())).sum({1, 2});
  const double flat = 2.0 * static_cast<double>(p * p - 1) / 12.0;
  st.spatial_spread = torch::where(total > 0, second / flat, torch::ones_like(second));

  st.oriented = st.orientation_concentration >= options.oriented_threshold();
  const torch::Tensor not_dc = st.frequency >= f_low - tol;
  const torch::Tensor not_nyquist = torch::maximum(peak_row.abs(), peak_col.abs()) <= 0.5 - f_low + tol;
  st.band_pass =
      not_dc.logical_and(not_nyquist).logical_and(st.low_frequency_fraction <= options.low_frequency_threshold());
  st.localized = st.spatial_spread <= options.localized_threshold();
  return st;
}

AtomStatisticsSummary summarize(const AtomStatistics& stats) {
  if (!stats.oriented.defined() || stats.oriented.dim() != 1 || stats.oriented.size(0) == 0)
    throw std::invalid_argument("summarize: stats must hold statistics of at least one atom");
  AtomStatisticsSummary s;
  s.atoms = stats.oriented.size(0);
  s.oriented_band_pass = mean_of(stats.oriented.logical_and(stats.band_pass));
  s.oriented = mean_of(stats.oriented);
  s.band_pass = mean_of(stats.band_pass);
  s.localized = mean_of(stats.localized);
  s.mean_orientation_concentration = mean_of(stats.orientation_concentration);
  s.mean_frequency_concentration = mean_of(stats.frequency_concentration);
  s.mean_spatial_spread = mean_of(stats.spatial_spread);
  return s;
}

AtomStatisticsSummary summarize_atoms(const torch::Tensor& atoms, const AtomStatisticsOptions& options) {
  return summarize(atom_statistics(atoms, options));
}

AtomStatisticsSummary random_dictionary_summary(int64_t patch, int64_t atoms, uint64_t seed,
                                                const AtomStatisticsOptions& options) {
  if (patch < 2)
    throw std::invalid_argument("random_dictionary_summary: patch must be >= 2, got " + std::to_string(patch));
  if (atoms < 1)
    throw std::invalid_argument("random_dictionary_summary: atoms must be >= 1, got " + std::to_string(atoms));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor d = torch::randn({patch * patch, atoms}, gen, torch::TensorOptions().dtype(torch::kDouble));
  return summarize_atoms(d, options);
}

AtomStatisticsComparison compare_with_random(const torch::Tensor& atoms, uint64_t seed,
                                             const AtomStatisticsOptions& options) {
  const auto learned = summarize_atoms(atoms, options);  // checks the shape first
  const auto patch = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(atoms.size(0)))));
  return {learned, random_dictionary_summary(patch, atoms.size(1), seed, options)};
}

std::vector<std::pair<std::string, double>> summary_rows(const AtomStatisticsSummary& s) {
  return {{"oriented_band_pass", s.oriented_band_pass},
          {"oriented", s.oriented},
          {"band_pass", s.band_pass},
          {"localized", s.localized},
          {"mean_orientation_concentration", s.mean_orientation_concentration},
          {"mean_frequency_concentration", s.mean_frequency_concentration},
          {"mean_spatial_spread", s.mean_spatial_spread}};
}

std::string describe(const AtomStatisticsSummary& s) {
  std::ostringstream t;
  t << std::fixed << std::setprecision(0) << 100 * s.oriented_band_pass << "% oriented and band-pass (oriented "
    << 100 * s.oriented << "%, band-pass " << 100 * s.band_pass << "%, localized " << 100 * s.localized << "%)";
  return t.str();
}

}  // namespace deepsc::dictlearn
