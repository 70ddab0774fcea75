#include "deepsc/sparse/shrinkage.h"

#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

Shrinkage parse_shrinkage(const std::string& name) {
  if (name == "soft") return Shrinkage::Soft;
  if (name == "hard") return Shrinkage::Hard;
  if (name == "nonneg" || name == "nonneg-soft") return Shrinkage::NonNegSoft;
  throw std::invalid_argument("unknown shrinkage '" + name + "' (use soft, hard or nonneg)");
}

const char* shrinkage_name(Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft: return "soft";
    case Shrinkage::Hard: return "hard";
    case Shrinkage::NonNegSoft: return "nonneg";
  }
  return "?";
}

torch::Tensor broadcast_threshold(const torch::Tensor& beta, const torch::Tensor& x) {
  torch::Tensor b = beta;
  // A 1-D β whose length is the channel count is per channel, whatever the trailing dimensions.
  if (b.dim() == 1 && x.dim() >= 2 && b.size(0) == x.size(1) && b.size(0) != 1) {
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = b.size(0);
    b = b.reshape(shape);
  }
  try {
    (void)at::infer_size(b.sizes(), x.sizes());
  } catch (const c10::Error&) {
    std::ostringstream msg;
    msg << "threshold of shape " << beta.sizes() << " does not broadcast to codes of shape " << x.sizes();
    throw std::invalid_argument(msg.str());
  }
  return b;
}

namespace {
void check_scalar(double beta) {
  if (!(beta >= 0)) throw std::invalid_argument("threshold must be >= 0, got " + std::to_string(beta));
}
}  // namespace

torch::Tensor soft_threshold(const torch::Tensor& x, const torch::Tensor& beta) {
  const auto b = broadcast_threshold(beta, x);
  // relu(x − β) − relu(−x − β): one formula that autograd differentiates in both x and β.
  return torch::relu(x - b) - torch::relu(-x - b);
}
torch::Tensor soft_threshold(const torch::Tensor& x, double beta) {
  check_scalar(beta);
  return torch::relu(x - beta) - torch::relu(-x - beta);
}

torch::Tensor hard_threshold(const torch::Tensor& x, const torch::Tensor& beta) {
  const auto b = broadcast_threshold(beta, x);
  return x * (x.abs() > b).to(x.scalar_type());
}
torch::Tensor hard_threshold(const torch::Tensor& x, double beta) {
  check_scalar(beta);
  return x * (x.abs() > beta).to(x.scalar_type());
}

torch::Tensor nonneg_soft_threshold(const torch::Tensor& x, const torch::Tensor& beta) {
  return torch::relu(x - broadcast_threshold(beta, x));
}
torch::Tensor nonneg_soft_threshold(const torch::Tensor& x, double beta) {
  check_scalar(beta);
  return torch::relu(x - beta);
}

torch::Tensor shrink(const torch::Tensor& x, const torch::Tensor& beta, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft: return soft_threshold(x, beta);
    case Shrinkage::Hard: return hard_threshold(x, beta);
    case Shrinkage::NonNegSoft: return nonneg_soft_threshold(x, beta);
  }
  throw std::invalid_argument("unknown shrinkage kind");
}
torch::Tensor shrink(const torch::Tensor& x, double beta, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft: return soft_threshold(x, beta);
    case Shrinkage::Hard: return hard_threshold(x, beta);
    case Shrinkage::NonNegSoft: return nonneg_soft_threshold(x, beta);
  }
  throw std::invalid_argument("unknown shrinkage kind");
}

}  // namespace deepsc::sparse
