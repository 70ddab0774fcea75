#include "deepsc/mlcsc/generator.h"

#include "deepsc/sparse/analytic_dictionaries.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

namespace deepsc::mlcsc {

namespace generator_detail {

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

std::string list_text(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "}";
}

/// Supports of `atoms` atoms with s entries each among `channels` × `taps` positions (flat index
/// c·taps + t). Two atoms at relative shift δ share two positions exactly when a pair of positions
/// of one has the same pattern (c_a, c_b, t_b − t_a) — ordered by tap, then channel — as a pair of
/// the other (an atom against its own shifts included), so a candidate is kept when none of its
/// pair patterns was used before; `taps` = 1 is the dense case (patterns are plain pairs). After
/// `tries` failures the candidate with the fewest repeated patterns is kept.
std::vector<std::vector<int64_t>> sparse_supports(int64_t channels, int64_t taps, int64_t atoms, int64_t s,
                                                  std::mt19937_64& rng) {
  constexpr int tries = 200;
  const int64_t positions = channels * taps;
  std::vector<char> used(static_cast<size_t>(channels * channels * taps), 0);
  std::vector<int64_t> pool(static_cast<size_t>(positions));
  auto patterns = [&](const std::vector<int64_t>& support) {
    std::vector<int64_t> keys;
    for (size_t a = 0; a < support.size(); ++a) {
      for (size_t b = a + 1; b < support.size(); ++b) {
        int64_t ca = support[a] / taps, ta = support[a] % taps, cb = support[b] / taps, tb = support[b] % taps;
        if (tb < ta || (tb == ta && cb < ca)) std::swap(ca, cb), std::swap(ta, tb);
        keys.push_back((ca * channels + cb) * taps + (tb - ta));
      }
    }
    return keys;
  };
  std::vector<std::vector<int64_t>> out;
  for (int64_t j = 0; j < atoms; ++j) {
    std::vector<int64_t> best;
    int64_t best_conflicts = -1;
    for (int attempt = 0; attempt < tries && best_conflicts != 0; ++attempt) {
      for (int64_t p = 0; p < positions; ++p) pool[static_cast<size_t>(p)] = p;
      for (int64_t p = 0; p < s; ++p) {  // partial Fisher–Yates: the first s of a random permutation
        const int64_t q = p + static_cast<int64_t>(rng() % static_cast<uint64_t>(positions - p));
        std::swap(pool[static_cast<size_t>(p)], pool[static_cast<size_t>(q)]);
      }
      std::vector<int64_t> candidate(pool.begin(), pool.begin() + s);
      auto keys = patterns(candidate);
      int64_t conflicts = 0;
      std::sort(keys.begin(), keys.end());
      for (size_t i = 0; i < keys.size(); ++i) {
        conflicts += used[static_cast<size_t>(keys[i])] || (i > 0 && keys[i] == keys[i - 1]);
      }
      if (best_conflicts < 0 || conflicts < best_conflicts) best = candidate, best_conflicts = conflicts;
    }
    for (int64_t key : patterns(best)) used[static_cast<size_t>(key)] = 1;
    out.push_back(best);
  }
  return out;
}

/// Atoms [atoms, channels, taps] (float64) on the supports above with entries ±1/√s.
torch::Tensor sparse_atoms(int64_t channels, int64_t taps, int64_t atoms, int64_t s, bool nonneg, std::mt19937_64& rng) {
  auto w = torch::zeros({atoms, channels * taps}, f64);
  auto acc = w.accessor<double, 2>();
  const double value = 1 / std::sqrt(static_cast<double>(s));
  const auto supports = sparse_supports(channels, taps, atoms, s, rng);
  for (int64_t j = 0; j < atoms; ++j) {
    for (int64_t p : supports[static_cast<size_t>(j)]) acc[j][p] = (nonneg || (rng() & 1)) ? value : -value;
  }
  return w.view({atoms, channels, taps});
}

torch::Tensor unit_gaussian_atoms(std::vector<int64_t> shape, at::Generator& gen) {
  auto w = torch::randn(shape, gen, f64);  // [M, C, k]
  return w / w.reshape({shape[0], -1}).norm(2, {1}).view({shape[0], 1, 1});
}

/// s_i for layer i (1-based, i ≥ 2) from the option's K − 1 values or one value for all.
int64_t atom_nonzeros(const GeneratorOptions& o, int64_t i, int64_t depth) {
  const auto& s = o.atom_nonzeros();
  if (s.size() != 1 && static_cast<int64_t>(s.size()) != depth - 1) {
    throw std::invalid_argument("atom_nonzeros has " + std::to_string(s.size()) + " values but a " + std::to_string(depth) +
                                "-layer model needs one or " + std::to_string(depth - 1) + " (layers 2.." +
                                std::to_string(depth) + ")");
  }
  return s.size() == 1 ? s[0] : s[static_cast<size_t>(i - 2)];
}

void check_positive(const std::vector<int64_t>& v, const char* what, size_t min_size) {
  if (v.size() < min_size) {
    throw std::invalid_argument(std::string(what) + " needs at least " + std::to_string(min_size) + " values, got " + list_text(v));
  }
  for (int64_t x : v) {
    if (x < 1) throw std::invalid_argument(std::string(what) + " must be >= 1, got " + list_text(v));
  }
}

}  // namespace generator_detail

MlcscModel random_model(const GeneratorOptions& o) {
  namespace gd = generator_detail;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  std::mt19937_64 rng(o.seed() ^ 0x9e3779b97f4a7c15ULL);
  const auto target = torch::TensorOptions().dtype(o.dtype()).device(o.device());
  std::vector<torch::Tensor> weights;
  if (!o.convolutional()) {
    const auto& n = o.dims();
    gd::check_positive(n, "dims", 2);
    const int64_t depth = static_cast<int64_t>(n.size()) - 1;
    if (o.first_layer() == FirstLayer::IdentityHadamard) {
      if (n[1] != 2 * n[0]) {
        throw std::invalid_argument("dims " + gd::list_text(n) + ": an identity-Hadamard first layer needs n1 = 2 n0");
      }
      weights.push_back(sparse::identity_hadamard_dictionary(n[0]));
    } else {
      auto d = torch::randn({n[0], n[1]}, gen, gd::f64);
      weights.push_back(d / d.norm(2, {0}, true));
    }
    for (int64_t i = 2; i <= depth; ++i) {
      const int64_t s = gd::atom_nonzeros(o, i, depth);
      const int64_t rows = n[static_cast<size_t>(i - 1)];
      if (s < 1 || s > rows) {
        throw std::invalid_argument("atom_nonzeros of layer " + std::to_string(i) + " must be in [1, " + std::to_string(rows) +
                                    "], got " + std::to_string(s));
      }
      // Columns of D_i are the "atoms" of a one-tap, n_{i−1}-channel layer.
      weights.push_back(gd::sparse_atoms(rows, 1, n[static_cast<size_t>(i)], s, o.nonneg(), rng).view({-1, rows}).t());
    }
    for (auto& w : weights) w = w.to(target);
    return dense_model(weights);
  }
  const auto& m = o.channels();
  gd::check_positive(m, "channels", 2);
  const int64_t depth = static_cast<int64_t>(m.size()) - 1;
  const auto& k = o.kernel_sizes();
  if (static_cast<int64_t>(k.size()) != depth) {
    throw std::invalid_argument("kernel_sizes " + gd::list_text(k) + " must have one value per layer (" + std::to_string(depth) +
                                ") for channels " + gd::list_text(m));
  }
  gd::check_positive(k, "kernel_sizes", 1);
  weights.push_back(gd::unit_gaussian_atoms({m[1], m[0], k[0]}, gen));
  for (int64_t i = 2; i <= depth; ++i) {
    const int64_t s = gd::atom_nonzeros(o, i, depth);
    const int64_t in = m[static_cast<size_t>(i - 1)], taps = k[static_cast<size_t>(i - 1)];
    if (s < 1 || s > in * taps) {
      throw std::invalid_argument("atom_nonzeros of layer " + std::to_string(i) + " must be in [1, " + std::to_string(in * taps) +
                                  "] (channels x taps), got " + std::to_string(s));
    }
    weights.push_back(gd::sparse_atoms(in, taps, m[static_cast<size_t>(i)], s, o.nonneg(), rng));
  }
  for (auto& w : weights) w = w.to(target);
  return conv_model(weights);
}

namespace generator_detail {

/// Magnitudes in [r, 1] with the first entry r and the second 1 (when there are two), random
/// signs unless non-negative: [N, count] float64.
torch::Tensor deepest_values(int64_t trials, int64_t count, double r, bool nonneg, at::Generator& gen) {
  auto mags = r + (1 - r) * torch::rand({trials, count}, gen, f64);
  if (count >= 2) {
    mags.select(1, 0).fill_(r);
    mags.select(1, 1).fill_(1.0);
  } else {
    mags.fill_(1.0);
  }
  if (nonneg) return mags;
  return mags * (torch::randint(0, 2, {trials, count}, gen, f64) * 2 - 1);
}

/// The first `k` of a uniformly random permutation of the last axis of `shape`: [..., k] int64.
torch::Tensor random_choice(std::vector<int64_t> shape, int64_t k, at::Generator& gen) {
  return torch::rand(shape, gen, f64).argsort(/*dim=*/-1, /*descending=*/false).narrow(-1, 0, k);
}

}  // namespace generator_detail

SignalBatch sample_signals(const MlcscModel& model, const GeneratorOptions& o, int64_t trials, uint64_t seed) {
  namespace gd = generator_detail;
  if (trials < 0) throw std::invalid_argument("trials must be >= 0, got " + std::to_string(trials));
  const int64_t k = o.deepest_nonzeros();
  if (k < 1) throw std::invalid_argument("deepest_nonzeros must be >= 1, got " + std::to_string(k));
  const double r = o.min_max_ratio();
  if (!(r > 0 && r <= 1)) throw std::invalid_argument("min_max_ratio must be in (0, 1], got " + std::to_string(r));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t last = model.depth() - 1;
  torch::Tensor deepest;
  if (const auto* d = model.dense_layer(last)) {
    const int64_t m = d->num_atoms();
    if (k > m) throw std::invalid_argument("deepest_nonzeros " + std::to_string(k) + " exceeds the " + std::to_string(m) + " atoms of the last layer");
    auto where = gd::random_choice({trials, m}, k, gen);
    auto values = gd::deepest_values(trials, k, r, o.nonneg(), gen);
    deepest = torch::zeros({trials, m}, gd::f64).scatter_(1, where, values);
  } else if (const auto* c = model.conv_layer(last)) {
    const auto* first = model.conv_layer(0);
    if (!first || c->spatial_dims() != 1 || c->options().stride() != 1) {
      throw std::invalid_argument("sample_signals draws 1-D convolutional signals [N, C, L] of stride-1 layers only");
    }
    if (o.signal_length() < 1) throw std::invalid_argument("signal_length must be >= 1 for a convolutional model, got " + std::to_string(o.signal_length()));
    const auto shapes = model.shapes({trials, first->channels(), o.signal_length()});
    const int64_t atoms = shapes.back()[1], length = shapes.back()[2];
    const int64_t n = c->options().dilation() * (c->weights().size(2) - 1) + 1;  // span of D_K's atoms
    const int64_t window = 2 * n - 1, block = 4 * n - 3;
    if (length < window || k > atoms * window) {
      throw std::invalid_argument("deepest codes [N, " + std::to_string(atoms) + ", " + std::to_string(length) + "] cannot hold " +
                                  std::to_string(k) + " non-zeros per stripe of " + std::to_string(window) +
                                  " positions: lengthen signal_length or lower deepest_nonzeros");
    }
    const int64_t blocks = (length - window) / block + 1;
    auto idx = gd::random_choice({trials, blocks, atoms * window}, k, gen);  // [N, B, k]
    auto start = (torch::arange(blocks, gd::f64.dtype(torch::kLong)) * block).view({1, blocks, 1});
    auto flat = (idx.div(window, "floor") * length + start + idx.remainder(window)).reshape({trials, blocks * k});
    auto values = gd::deepest_values(trials, blocks * k, r, o.nonneg(), gen);
    deepest = torch::zeros({trials, atoms * length}, gd::f64).scatter_(1, flat, values).view({trials, atoms, length});
  } else {
    throw std::invalid_argument("sample_signals needs a model of dense or convolutional dictionaries");
  }
  // Top-down, X_{i−1} = D_i X_i, with the entries that cancel to rounding (two atoms of D_i adding
  // opposite values at one position: |x| ≤ 1e-12·max|X_{i−1}|) set to exact zeros before the next
  // layer, so the true supports are the exact ones the theorems speak of and the chain stays exact.
  const auto depth = static_cast<size_t>(model.depth());
  std::vector<torch::Tensor> codes(depth + 1);
  codes[depth] = deepest.to(model.tensor_options());
  for (size_t i = depth; i-- > 0;) {
    auto x = model.layer(static_cast<int64_t>(i)).apply(codes[i + 1]);
    if (i > 0) {
      std::vector<int64_t> per_sample(static_cast<size_t>(x.dim()), 1);
      per_sample[0] = x.size(0);
      const auto scale = x.abs().flatten(1).amax(1).view(per_sample);
      x = x.masked_fill(x.abs() <= 1e-12 * scale, 0);
    }
    codes[i] = x;
  }
  return SignalBatch{std::move(codes)};
}

torch::Tensor noise_with_patch_norm(const MlcscModel& model, const torch::Tensor& clean, double eps0, uint64_t seed) {
  if (!(eps0 >= 0) || !std::isfinite(eps0)) throw std::invalid_argument("eps0 must be finite and >= 0, got " + std::to_string(eps0));
  if (!clean.defined()) throw std::invalid_argument("clean signals are undefined");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto e = torch::randn(clean.sizes(), gen, generator_detail::f64);
  auto norms = patch_l2_inf(model, 0, e.to(clean.options())).to(torch::kCPU, torch::kDouble);
  std::vector<int64_t> view(static_cast<size_t>(clean.dim()), 1);
  view[0] = clean.size(0);
  return (e * (eps0 / norms).view(view)).to(clean.options());
}

std::vector<CodeMeasures> measure_layers(const MlcscModel& model, const SignalBatch& batch, double zero_tol) {
  if (static_cast<int64_t>(batch.codes.size()) != model.depth() + 1) {
    throw std::invalid_argument("signal batch has " + std::to_string(batch.codes.size()) + " code tensors but a " +
                                std::to_string(model.depth()) + "-layer model needs " + std::to_string(model.depth() + 1) +
                                " (X0 … XK)");
  }
  std::vector<CodeMeasures> out;
  for (int64_t i = 1; i <= model.depth(); ++i) out.push_back(measure_codes(model, i - 1, batch.codes[static_cast<size_t>(i)], zero_tol));
  return out;
}

}  // namespace deepsc::mlcsc
