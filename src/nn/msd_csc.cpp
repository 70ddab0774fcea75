#include "deepsc/nn/msd_nets.h"

#include "deepsc/sparse/unrolled_pursuit.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

namespace {

/// The side of the square map on which reset() estimates L = 1 + ‖F‖² (see MsdCscLayerImpl::reset).
constexpr int64_t kMsdCscNominalSide = 16;

}  // namespace

MsdCscLayerImpl::MsdCscLayerImpl(const MsdCscLayerOptions& options_) : options(options_) { reset(); }

void MsdCscLayerImpl::reset() {
  const auto& o = options;
  const auto at_least = [](int64_t value, int64_t min, const char* name) {
    if (value < min)
      throw std::invalid_argument(std::string(name) + " must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  };
  at_least(o.in_channels(), 1, "in_channels");
  at_least(o.growth(), 1, "growth");
  at_least(o.dilation(), 1, "dilation");
  at_least(o.unfoldings(), 0, "unfoldings");
  const int64_t c = o.in_channels(), w = o.growth();
  weight = register_parameter("weight", torch::empty({w, c, 3, 3}));
  bias = register_parameter("bias", torch::zeros({c + w}));
  torch::NoGradGuard no_grad;
  weight.normal_(0, std::sqrt(2.0 / static_cast<double>(9 * c)));  // Pelt & Sethian: N(0, 2/n_c)
  // An initial value only: in float64, to a 1e-5 relative change (like CscLayerOptions' power_tol).
  const conv::IdentityAugmentedDictionary d(weight.to(torch::kDouble), o.dilation());
  const double lipschitz = d.lipschitz({1, c, kMsdCscNominalSide, kMsdCscNominalSide},
                                       sparse::LipschitzOptions().tol(1e-5).max_iter(100));
  step = register_parameter("step", torch::full({}, 1.0 / lipschitz));
}

void MsdCscLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::MsdCscLayer(" << options.in_channels() << ", growth=" << options.growth()
         << ", dilation=" << options.dilation() << ", unfoldings=" << options.unfoldings() << ")";
}

conv::IdentityAugmentedDictionary MsdCscLayerImpl::dictionary() const {
  return conv::IdentityAugmentedDictionary(weight, options.dilation());
}

torch::Tensor MsdCscLayerImpl::forward(const torch::Tensor& stack) {
  const auto d = dictionary();
  d.check_signals(stack, "MSD-CSC layer input");
  // ReLU(x + b) is the non-negative soft threshold of λ = −b at step 1.
  const auto lambda = sparse::PursuitLambda::per_atom(-bias);
  const auto first = sparse::UnrolledPursuitOptions(1.0).iterations(1).solver(sparse::UnrolledSolver::Ista);
  auto code = sparse::unrolled_pursuit(d, stack, lambda, first);  // S⁺(DᵀΓ̃ + b)
  if (options.unfoldings() == 0) return code;
  return sparse::unrolled_pursuit(d, stack, lambda,
                                  sparse::UnrolledPursuitOptions(1.0)
                                      .iterations(options.unfoldings())
                                      .solver(sparse::UnrolledSolver::Ista)
                                      .initial(code)
                                      .step_factor(step));
}

void copy_msd_net_weights(const MsdNetImpl& msdnet, MsdNetImpl& msd_csc) {
  const auto& a = msdnet.options();
  const auto& b = msd_csc.options();
  if (a.csc() || !b.csc()) throw std::invalid_argument("copy_msd_net_weights needs an MSDNet and an MSD-CSC network");
  if (a.in_channels() != b.in_channels() || a.num_classes() != b.num_classes() ||
      a.stem_channels() != b.stem_channels() || a.blocks() != b.blocks() || a.depth() != b.depth() ||
      a.growth() != b.growth() || a.max_dilation() != b.max_dilation()) {
    std::ostringstream msg;
    msg << "copy_msd_net_weights: architectures differ: ";
    msdnet.pretty_print(msg);
    msg << " vs ";
    msd_csc.pretty_print(msg);
    throw std::invalid_argument(msg.str());
  }
  torch::NoGradGuard no_grad;
  const auto copy = [](const torch::Tensor& from, torch::Tensor& to) { to.copy_(from); };
  copy(msdnet.stem->weight, msd_csc.stem->weight);
  copy(msdnet.stem->bias, msd_csc.stem->bias);
  for (size_t t = 0; t < msdnet.transitions.size(); ++t) {
    copy(msdnet.transitions[t]->weight, msd_csc.transitions[t]->weight);
    copy(msdnet.transitions[t]->bias, msd_csc.transitions[t]->bias);
  }
  copy(msdnet.fc->weight, msd_csc.fc->weight);
  copy(msdnet.fc->bias, msd_csc.fc->bias);
  for (size_t blk = 0; blk < msdnet.msd_layers.size(); ++blk) {
    for (size_t i = 0; i < msdnet.msd_layers[blk].size(); ++i) {
      const auto& conv = msdnet.msd_layers[blk][i];
      auto& layer = msd_csc.msd_csc_layers[blk][i];
      const int64_t c = layer->options.in_channels();
      copy(conv->weight, layer->weight);
      layer->bias.narrow(0, 0, c).zero_();  // b_A = 0: A = ReLU(Γ̃) = Γ̃ on a non-negative stack
      layer->bias.narrow(0, c, layer->options.growth()).copy_(conv->bias);
    }
  }
}

std::shared_ptr<Classifier> make_msd_csc_net(const ModelOptions& options) {
  return std::make_shared<MsdNetImpl>(msd_net_options(options, true));
}

}  // namespace deepsc::nn
