#pragma once
/// The complete solver registry: sparse::solver_registry() (threshold, ista, fista, cd, omp) plus
/// the solvers that need a ConvDictionary, today FFT-domain ADMM for convolutional sparse coding
/// (Wohlberg 2016; stride 1 only). It lives in deepsc_conv because deepsc_sparse cannot see
/// ConvDictionary; see deepsc/sparse/solver_registry.h for the registry itself and where a new
/// solver goes. The command line and anything that offers "every solver" use this one.

#include "deepsc/sparse/solver_registry.h"

#include <string>
#include <vector>

namespace deepsc::conv {

/// Every registered solver, dense and convolutional.
const sparse::SolverRegistry& solver_registry();

/// solver_registry().names().
std::vector<std::string> solver_names();

/// solver_registry().find(name); the error lists the known names.
const sparse::SolverEntry& find_solver(const std::string& name);

}  // namespace deepsc::conv
