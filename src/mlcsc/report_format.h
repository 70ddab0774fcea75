#pragma once
// Number formats and the file writing shared by the ML-CSC reports (simulation_report.cpp,
// depth_report.cpp, encode_check.cpp).

#include "deepsc/mlcsc/simulation_report.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace deepsc::mlcsc::report_detail {

/// `precision` significant digits; NaN as "–".
std::string number(double v, int precision = 4);
/// 10 significant digits; NaN as "" (an empty CSV field).
std::string csv_number(double v);
/// 100·fraction with one decimal; NaN as "–".
std::string percent(double fraction);
/// "[100, 512]".
std::string dims_text(const std::vector<int64_t>& shape);
/// `text` right-aligned in `width` characters (a UTF-8 sequence counts once).
std::string pad(const std::string& text, size_t width);

nlohmann::json generator_json(const GeneratorOptions& options);
nlohmann::json simulation_options_json(const SimulationOptions& options);

/// Creates `dir`, writes each (name, text) atomically, then runs the gnuplot script among them
/// (named `script_name`) in `dir` when gnuplot is installed; `pictures` are what it draws.
ReportFiles write_report(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                         const std::string& script_name, const std::vector<std::string>& pictures);

}  // namespace deepsc::mlcsc::report_detail
