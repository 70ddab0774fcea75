#pragma once
// Small helpers shared by tests: float64 tensors from number lists, unit-norm atoms, and messages of
// rejected calls.

#include <torch/torch.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::testing {

inline const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

/// A float64 tensor from a list of numbers (torch::tensor wants one literal type).
inline torch::Tensor doubles(std::vector<double> values) { return torch::tensor(values, torch::kDouble); }

/// W [M, ...] with every atom W[j] (a row of its first dimension) scaled to unit ℓ2 norm.
inline torch::Tensor unit_norm_atoms(const torch::Tensor& w) {
  return w / w.reshape({w.size(0), -1}).norm(2, {1}).view({-1, 1, 1, 1});
}

/// The message of the std::invalid_argument that `f` throws, or "no std::invalid_argument".
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no std::invalid_argument";
}

}  // namespace deepsc::testing
