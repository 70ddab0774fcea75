#include "deepsc/conv/dictionary_learning.h"

#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "fixed_code_operator.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

void check(const torch::Tensor& images, const DictionaryLearningOptions& o) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (!images.defined() || images.dim() != 4) fail("images must be [N, C, H, W]");
  if (!images.is_floating_point()) fail("images must be floating point");
  if (images.size(0) < 1 || images.size(1) < 1) fail("images must hold at least one image of one channel");
  if (o.atoms() < 1) fail("atoms must be >= 1");
  if (o.kernel_size() < 1) fail("kernel size must be >= 1");
  if (images.size(2) < o.kernel_size() || images.size(3) < o.kernel_size()) {
    std::ostringstream msg;
    msg << "images " << images.sizes() << " are smaller than the " << o.kernel_size() << "x" << o.kernel_size() << " atoms";
    fail(msg.str());
  }
  if (!(o.lambda() >= 0)) fail("lambda must be >= 0");
  if (o.epochs() < 1) fail("epochs must be >= 1");
  if (o.batch_size() < 0) fail("batch size must be >= 0 (0 = all images)");
  if (o.coding_iters() < 1) fail("coding iterations must be >= 1");
  if (o.dictionary_iters() < 1) fail("dictionary iterations must be >= 1");
  if (o.initial().defined()) {
    const std::vector<int64_t> want{o.atoms(), images.size(1), o.kernel_size(), o.kernel_size()};
    if (o.initial().sizes() != c10::IntArrayRef(want)) {
      std::ostringstream msg;
      msg << "initial atoms have shape " << o.initial().sizes() << ", expected " << c10::IntArrayRef(want);
      fail(msg.str());
    }
  }
}

/// Projects every atom W[j] onto the unit ℓ2 ball (in place).
void project_atoms(torch::Tensor& w) {
  auto norms = w.reshape({w.size(0), -1}).norm(2, {1}).clamp_min(1.0);
  w.div_(norms.view({-1, 1, 1, 1}));
}

torch::Tensor starting_atoms(const torch::Tensor& images, const DictionaryLearningOptions& o) {
  if (o.initial().defined()) {
    auto w = o.initial().to(images.options()).clone();
    project_atoms(w);
    return w;
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  auto w = torch::randn({o.atoms(), images.size(1), o.kernel_size(), o.kernel_size()}, gen, torch::kDouble);
  w = w - w.mean({1, 2, 3}, true);  // zero-mean atoms suit high-pass images
  w = w / w.reshape({o.atoms(), -1}).norm(2, {1}).clamp_min(1e-12).view({-1, 1, 1, 1});
  return w.to(images.options());
}

/// Dictionary step: projected gradient with Nesterov momentum on ½‖Y − D(W)X‖², ‖w_j‖ ≤ 1.
void update_atoms(torch::Tensor& w, const torch::Tensor& images, detail::FixedCodeOperator& op,
                  const DictionaryLearningOptions& o) {
  const auto signal = images.unsqueeze(0);  // [1, B, C, H, W]
  const double lipschitz = op.lipschitz(signal.sizes(), sparse::LipschitzOptions().tol(1e-4).max_iter(50));
  if (!(lipschitz > 0)) return;  // all codes zero: the data term does not depend on W
  auto x = w.unsqueeze(0), z = x.clone();
  double t = 1;
  for (int64_t it = 0; it < o.dictionary_iters(); ++it) {
    auto grad = op.adjoint(op.apply(z) - signal);
    auto next = z - grad / lipschitz;
    auto atoms = next.squeeze(0);
    project_atoms(atoms);
    const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
    z = next + ((t - 1) / t_next) * (next - x);
    x = next;
    t = t_next;
  }
  w = x.squeeze(0).contiguous();
}

}  // namespace

DictionaryLearningResult learn_conv_dictionary(const torch::Tensor& images, const DictionaryLearningOptions& o) {
  check(images, o);
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0), k = o.kernel_size(), padding = k - 1;
  auto y = images.contiguous();
  auto w = starting_atoms(y, o);
  ConvDictionary dict(w, ConvOptions().padding(padding));
  detail::FixedCodeOperator atoms_map(k, padding);
  auto codes = torch::zeros(dict.code_shape(y.sizes()), y.options());  // warm starts, per image
  const int64_t batch = o.batch_size() == 0 ? n : std::min(o.batch_size(), n);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed() + 1);
  const auto coding = sparse::ProximalGradientOptions(o.lambda())
                          .max_iter(o.coding_iters())
                          .tol(0)
                          .nonneg(o.nonneg())
                          .lipschitz(sparse::LipschitzOptions().tol(1e-4).max_iter(100));

  DictionaryLearningResult result;
  for (int64_t epoch = 1; epoch <= o.epochs(); ++epoch) {
    auto order = batch == n ? torch::arange(n) : torch::randperm(n, gen);
    for (int64_t begin = 0; begin < n; begin += batch) {
      auto index = order.narrow(0, begin, std::min(batch, n - begin)).to(y.device());
      auto yb = y.index_select(0, index);
      auto xb = sparse::fista(dict, yb, sparse::ProximalGradientOptions(coding).warm_start(codes.index_select(0, index)))
                    .codes;
      codes.index_copy_(0, index, xb);
      atoms_map.set_codes(xb);
      update_atoms(w, yb, atoms_map, o);
      dict.set_weights(w);
    }
    LearningProgress progress;
    progress.epoch = epoch;
    progress.objective = sparse::lasso_objective(dict, y, codes, o.lambda()).mean().item<double>();
    progress.nonzeros = (codes != 0).sum().item<double>() / n;
    progress.weights = &w;
    result.objective.push_back(progress.objective);
    if (o.on_epoch()) o.on_epoch()(progress);
  }
  result.weights = w;
  return result;
}

}  // namespace deepsc::conv
