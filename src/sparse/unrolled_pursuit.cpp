#include "deepsc/sparse/unrolled_pursuit.h"

#include "deepsc/sparse/shrinkage.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

UnrolledSolver parse_unrolled_solver(const std::string& name) {
  if (name == "ista") return UnrolledSolver::Ista;
  if (name == "fista") return UnrolledSolver::Fista;
  if (name == "published") return UnrolledSolver::Published;
  throw std::invalid_argument("unknown unrolled solver '" + name + "' (use ista, fista or published)");
}

const char* unrolled_solver_name(UnrolledSolver solver) {
  switch (solver) {
    case UnrolledSolver::Ista: return "ista";
    case UnrolledSolver::Fista: return "fista";
    case UnrolledSolver::Published: return "published";
  }
  return "?";
}

namespace {

/// Shape [1, …, 1] of the codes' rank with `size` at `axis`: a per-atom or per-sample vector
/// broadcast against the codes.
std::vector<int64_t> broadcast_shape(size_t rank, size_t axis, int64_t size) {
  std::vector<int64_t> shape(rank, 1);
  shape[axis] = size;
  return shape;
}

void check_lambda_tensor(const torch::Tensor& lambda, int64_t expected, const char* what) {
  if (!lambda.defined() || lambda.dim() != 1 || lambda.size(0) != expected) {
    std::ostringstream msg;
    msg << what << " lambda must be [" << expected << "], got " << (lambda.defined() ? lambda.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace

torch::Tensor unrolled_pursuit(const LinearOperator& op, const torch::Tensor& x, const PursuitLambda& lambda,
                               const UnrolledPursuitOptions& o) {
  const double eta = o.step();
  if (!(eta > 0) || !std::isfinite(eta)) throw std::invalid_argument("step must be finite and > 0, got " + std::to_string(eta));
  if (o.iterations() < 1) throw std::invalid_argument("iterations must be >= 1, got " + std::to_string(o.iterations()));
  op.check_signals(x, "unrolled pursuit signals");
  const auto code_shape = op.code_shape(x.sizes());
  const size_t rank = code_shape.size();
  if (rank < 2) throw std::invalid_argument("unrolled pursuit needs codes [N, M, ...] with atoms on dimension 1");
  const int64_t atoms = code_shape[1];

  const auto& analysis = o.analysis();
  if (analysis.defined() && analysis.sizes() != c10::IntArrayRef(code_shape)) {
    std::ostringstream msg;
    msg << "analysis must be Dᵀx of the codes' shape " << c10::IntArrayRef(code_shape) << ", got " << analysis.sizes();
    throw std::invalid_argument(msg.str());
  }

  const auto& initial = o.initial();
  if (initial.defined() && initial.sizes() != c10::IntArrayRef(code_shape)) {
    std::ostringstream msg;
    msg << "initial codes must have the codes' shape " << c10::IntArrayRef(code_shape) << ", got " << initial.sizes();
    throw std::invalid_argument(msg.str());
  }

  const auto& initial_synthesis = o.initial_synthesis();
  if (initial_synthesis.defined() && (!initial.defined() || initial_synthesis.sizes() != x.sizes())) {
    std::ostringstream msg;
    msg << "initial synthesis must be D·initial, of the signals' shape " << x.sizes() << ", given with initial codes; got "
        << initial_synthesis.sizes() << (initial.defined() ? "" : " without initial codes");
    throw std::invalid_argument(msg.str());
  }
  const auto& factor = o.step_factor();
  if (factor.defined() && factor.numel() != 1) {
    throw std::invalid_argument("step factor must have one element, got " + std::to_string(factor.numel()));
  }
  // c·r for the gradient part (a signal- or code-sized multiply: Dᵀ is linear, so c·Dᵀr = Dᵀ(c·r)).
  const auto factored = [&](const torch::Tensor& t) { return factor.defined() ? t * factor.reshape({}) : t; };

  // Threshold λη. Non-negative codes with a scalar or per-atom λ fold −λη into the bias of the
  // scaled adjoint (the fused step); otherwise the general shrinkage takes β = λη.
  torch::Tensor bias;  // [M] = −λη
  torch::Tensor beta;  // broadcastable to the codes
  double beta_scalar = 0;
  switch (lambda.kind()) {
    case PursuitLambda::Kind::Scalar: {
      const double l = lambda.scalar();
      if (!(l >= 0) || !std::isfinite(l)) throw std::invalid_argument("lambda must be finite and >= 0, got " + std::to_string(l));
      if (o.nonneg())
        bias = torch::full({atoms}, -l * eta, x.options());
      else
        beta_scalar = l * eta;
      break;
    }
    case PursuitLambda::Kind::PerAtom: {
      check_lambda_tensor(lambda.tensor(), atoms, "per-atom");
      const auto scaled = lambda.tensor().to(x.options()) * eta;
      if (o.nonneg())
        bias = -scaled;
      else
        beta = scaled.view(broadcast_shape(rank, 1, atoms));
      break;
    }
    case PursuitLambda::Kind::PerSample: {
      if (lambda.tensor().defined() && lambda.tensor().dim() == 1 && lambda.tensor().size(0) != x.size(0)) {
        throw std::invalid_argument("per-sample lambda has " + std::to_string(lambda.tensor().size(0)) +
                                    " entries but the batch has " + std::to_string(x.size(0)) + " samples");
      }
      check_lambda_tensor(lambda.tensor(), x.size(0), "per-sample");
      beta = (lambda.tensor().to(x.options()) * eta).view(broadcast_shape(rank, 0, x.size(0)));
      break;
    }
  }
  const auto bias_shape = broadcast_shape(rank, 1, atoms);

  // shrink(base + ηDᵀ(x − D·at)); an undefined `base` or `at` stands for zero codes. With a given
  // Dᵀx the gradient step is η(Dᵀx − Dᵀ(D·at)). Every tensor written in place below is fresh and
  // not saved by autograd.
  // `synthesis` is D·at when the caller gave it (the first step from `initial`), else undefined.
  auto step = [&](const torch::Tensor& base, const torch::Tensor& at, const torch::Tensor& synthesis = {}) {
    const auto apply = [&] { return synthesis.defined() ? synthesis : op.apply(at); };
    torch::Tensor z;
    if (!analysis.defined()) {
      z = op.scaled_adjoint(factored(at.defined() ? x - apply() : x), eta, bias);
    } else if (at.defined()) {
      z = op.scaled_adjoint(factored(apply()), -eta, bias).add_(factored(analysis), eta);
    } else {
      z = bias.defined() ? torch::add(bias.view(bias_shape), factored(analysis), eta) : factored(analysis) * eta;
    }
    if (base.defined()) z = base + z;
    if (bias.defined()) return torch::relu_(z);
    if (beta.defined()) return o.nonneg() ? nonneg_soft_threshold(z, beta) : soft_threshold(z, beta);
    return soft_threshold(z, beta_scalar);  // signed codes, scalar λ (non-negative ones took the bias)
  };

  auto c = initial.defined() ? step(initial, initial, initial_synthesis) : step({}, {});  // the step from c⁰
  torch::Tensor previous;
  double t = 1;
  for (int64_t l = 1; l < o.iterations(); ++l) {
    if (o.solver() == UnrolledSolver::Ista) {
      c = step(c, c);
      continue;
    }
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    // The first coefficient (t₀ − 1)/t₁ is 0: z¹ = c¹.
    const auto z = l == 1 ? c : c + ((t - 1) / t_next) * (c - previous);
    auto next = step(z, o.solver() == UnrolledSolver::Fista ? z : c);
    previous = c;
    c = next;
    t = t_next;
  }
  return c;
}

}  // namespace deepsc::sparse
