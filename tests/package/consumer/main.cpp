// Downstream use of deepsc: solve a small lasso with FISTA and check the duality gap.
#include <deepsc/sparse/dense_dictionary.h>
#include <deepsc/sparse/lasso.h>
#include <deepsc/sparse/proximal_gradient.h>

#include <iostream>

int main() {
  torch::manual_seed(0);
  deepsc::sparse::DenseDictionary dict(torch::randn({16, 40}, torch::kDouble), /*normalize=*/true);
  auto y = torch::randn({5, 16}, torch::kDouble);
  auto result = deepsc::sparse::fista(dict, y, deepsc::sparse::ProximalGradientOptions(0.1).tol(1e-12).max_iter(100000));
  auto gap = deepsc::sparse::lasso_terms(dict, y, result.codes, 0.1, false).gap.max().item<double>();
  std::cout << "consumer: objective " << result.objective << ", max duality gap " << gap << "\n";
  return (result.converged && gap < 1e-8) ? 0 : 1;
}
