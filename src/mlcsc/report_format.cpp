// Number formats and file writing shared by the ML-CSC reports (report_format.h).
#include "report_format.h"

#include "deepsc/data/atomic_file.h"
#include "deepsc/viz/gnuplot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc::report_detail {

std::string number(double v, int precision) {
  if (std::isnan(v)) return "–";
  std::ostringstream s;
  s << std::setprecision(precision) << v;
  return s.str();
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s << std::setprecision(10) << v;
  return s.str();
}

std::string percent(double fraction) {
  if (std::isnan(fraction)) return "–";
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << 100 * fraction;
  return s.str();
}

std::string dims_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string pad(const std::string& text, size_t width) {
  // Width in characters, counting a UTF-8 sequence once (the tables hold "–" and "ε").
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return chars >= width ? text : std::string(width - chars, ' ') + text;
}

nlohmann::json generator_json(const GeneratorOptions& g) {
  return {{"convolutional", g.convolutional()},
          {"dims", g.dims()},
          {"channels", g.channels()},
          {"kernel_sizes", g.kernel_sizes()},
          {"signal_length", g.signal_length()},
          {"atom_nonzeros", g.atom_nonzeros()},
          {"first_layer", g.first_layer() == FirstLayer::IdentityHadamard ? "identity-hadamard" : "gaussian"},
          {"deepest_nonzeros", g.deepest_nonzeros()},
          {"min_max_ratio", g.min_max_ratio()},
          {"nonneg", g.nonneg()},
          {"dtype", c10::toString(g.dtype())},
          {"seed", g.seed()}};
}

nlohmann::json simulation_options_json(const SimulationOptions& o) {
  std::vector<std::string> pursuits;
  for (auto p : o.pursuits()) pursuits.emplace_back(pursuit_name(p));
  return {{"model", generator_json(o.model())},
          {"noise_levels", o.noise_levels()},
          {"min_max_ratios", o.min_max_ratios()},
          {"trials", o.trials()},
          {"pursuits", pursuits},
          {"seed", o.seed()},
          {"max_iter", o.max_iter()},
          {"tol", o.tol()},
          {"grid_points", o.grid_points()}};
}

ReportFiles write_report(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                         const std::string& script_name, const std::vector<std::string>& pictures) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
  ReportFiles out;
  for (const auto& [name, text] : files) {
    data::write_file_atomically((std::filesystem::path(dir) / name).string(), text);
    out.files.push_back(name);
  }
  const auto& script = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.first == script_name; })->second;
  if (!viz::gnuplot_available()) {
    out.note = "gnuplot is not installed: " + script_name + " is written, the pictures are not (run gnuplot " + script_name +
               " in " + dir + ")";
    return out;
  }
  const auto log = (std::filesystem::path(dir) / (script_name.substr(0, script_name.rfind('.')) + ".log")).string();
  const auto run = viz::run_gnuplot(script, dir, log);
  if (!run.ok) {
    out.note = run.message;
    return out;
  }
  out.files.insert(out.files.end(), pictures.begin(), pictures.end());
  return out;
}

}  // namespace deepsc::mlcsc::report_detail
