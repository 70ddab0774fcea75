#pragma once
/// The grid of λ over which robust inference sweeps the CSC layers' penalty of
///   min_c λ‖c‖₁ + ½‖x − Dc‖²
/// (Zhang, "From sparse coding to deep learning", 2024, section 5; Dai et al., "Revisiting sparse
/// convolutional model for visual recognition", NeurIPS 2022), as a user writes it.

#include <string>
#include <vector>

namespace deepsc::robust {

/// Parses "first:last:step" (inclusive: 0.1:1.4:0.1 has 14 values, each rounded to 1e-9 so that
/// 0.1 + 2·0.1 is 0.3) or "a,b,c". Every value is finite and ≥ 0; the result is sorted, without
/// duplicates, non-empty and has at most 10000 values. Throws std::invalid_argument with a one-line
/// message starting "--lambda-grid: " (the option that carries the text) otherwise.
std::vector<double> parse_lambda_grid(const std::string& text);

}  // namespace deepsc::robust
