#pragma once
/// Run-time λ of a model's CSC layers, changed for an evaluation and always put back: robust
/// inference (λ sweeps, the λ(r) fit, per-sample λ, attacks at another λ) never leaves a model
/// different from how it was loaded.

#include "deepsc/nn/csc_layer.h"

#include <vector>

namespace deepsc::robust {

class LambdaScope {
 public:
  /// Remembers every layer's λ (scalar, and per atom when learnable) and records the layers'
  /// residuals (CscLayer::last_residual) until the scope ends.
  explicit LambdaScope(std::vector<nn::CscLayer> layers);
  /// restore().
  ~LambdaScope();
  LambdaScope(const LambdaScope&) = delete;
  LambdaScope& operator=(const LambdaScope&) = delete;

  /// Every layer's λ := lambda (≥ 0).
  void set_all(double lambda);
  /// Every layer codes sample i with λ_i (lambdas [N] ≥ 0) until restore().
  void set_per_sample(const torch::Tensor& lambdas);
  /// The remembered λ, no per-sample override.
  void restore();

  /// The remembered scalar λ of each layer, in forward order.
  const std::vector<double>& trained() const { return scalars_; }
  const std::vector<nn::CscLayer>& layers() const { return layers_; }
  bool empty() const { return layers_.empty(); }

 private:
  std::vector<nn::CscLayer> layers_;
  std::vector<double> scalars_;
  std::vector<torch::Tensor> per_atom_;
  nn::ResidualRecording recording_;
};

}  // namespace deepsc::robust
