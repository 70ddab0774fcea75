#include "deepsc/robust/lambda_scope.h"

namespace deepsc::robust {

LambdaScope::LambdaScope(std::vector<nn::CscLayer> layers) : layers_(std::move(layers)), recording_(layers_) {
  for (const auto& layer : layers_) {
    scalars_.push_back(layer->options.lambda());
    per_atom_.push_back(layer->lambda.defined() ? layer->lambda.detach().clone() : torch::Tensor());
  }
}

LambdaScope::~LambdaScope() { restore(); }

void LambdaScope::set_all(double lambda) {
  for (auto& layer : layers_) {
    layer->clear_lambda_override();
    layer->set_lambda(lambda);
  }
}

void LambdaScope::set_per_sample(const torch::Tensor& lambdas) {
  for (auto& layer : layers_) layer->set_lambda(lambdas);
}

void LambdaScope::restore() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->clear_lambda_override();
    layers_[i]->set_lambda(scalars_[i]);
    if (per_atom_[i].defined()) layers_[i]->lambda.copy_(per_atom_[i]);
  }
}

}  // namespace deepsc::robust
