#include "deepsc/nn/batch_norm.h"

#include <stdexcept>

namespace deepsc::nn {

BatchNorm2dImpl::BatchNorm2dImpl(const torch::nn::BatchNormOptions& options_) : options(options_) { reset(); }

void BatchNorm2dImpl::reset() {
  const int64_t c = options.num_features();
  if (c < 1) throw std::invalid_argument("batch norm needs >= 1 feature, got " + std::to_string(c));
  if (options.affine()) {
    weight = register_parameter("weight", torch::empty({c}));
    bias = register_parameter("bias", torch::empty({c}));
  } else {
    weight = register_parameter("weight", torch::Tensor(), /*requires_grad=*/false);
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  } else {
    running_mean = register_buffer("running_mean", torch::Tensor());
    running_var = register_buffer("running_var", torch::Tensor());
    num_batches_tracked = register_buffer("num_batches_tracked", torch::Tensor());
  }
  reset_parameters();
}

void BatchNorm2dImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  if (options.track_running_stats()) {
    running_mean.zero_();
    running_var.fill_(1);
    num_batches_tracked.zero_();
  }
  if (options.affine()) {
    weight.fill_(1);
    bias.zero_();
  }
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) {
    stream << *options.momentum();
  } else {
    stream << "None";
  }
  stream << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats()
         << (replica_sum ? ", synchronised" : "") << ")";
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4) {
    throw std::invalid_argument("batch norm expects [N, C, H, W] input, got " + std::to_string(input.dim()) +
                                " dimensions");
  }
  // The running-average factor of this step (LibTorch's rule).
  double factor = options.momentum().value_or(0.0);
  const bool update = is_training() && options.track_running_stats();
  if (update) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  if (!replica_sum || !is_training()) {
    return torch::batch_norm(input, weight, bias, running_mean, running_var,
                             is_training() || !options.track_running_stats(), factor, options.eps(),
                             torch::globalContext().userEnabledCuDNN());
  }
  const int64_t channels = input.size(1);
  const std::vector<int64_t> reduce{0, 2, 3};
  const auto per_channel = [channels](const torch::Tensor& t) { return t.view({1, channels, 1, 1}); };
  // Two passes over the global batch, one all-reduce each: [Σ x, n], then Σ (x − μ)².
  const double local_count = static_cast<double>(input.numel() / std::max<int64_t>(channels, 1));
  const auto sums = replica_sum(torch::cat({input.sum(reduce), torch::full({1}, local_count, input.options())}));
  const double count = sums[channels].item<double>();
  if (count < 2) throw std::invalid_argument("batch norm needs more than one value per channel over the replicas");
  const auto mean = sums.narrow(0, 0, channels) / count;
  const auto centred = input - per_channel(mean);
  const auto variance = replica_sum(centred.square().sum(reduce)) / count;
  auto output = centred * per_channel(torch::rsqrt(variance + options.eps()));
  if (options.affine()) output = output * per_channel(weight) + per_channel(bias);
  if (update) {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - factor).add_(mean.detach(), factor);
    running_var.mul_(1 - factor).add_(variance.detach() * (count / (count - 1)), factor);
  }
  return output;
}

}  // namespace deepsc::nn
