// deepsc conv-matrix: the explicit matrix A of a convolution, A·vec(x) = vec(conv2d(x, K)) (the
// lecture's "matrix-vector multiplication form", Zhang 2024). K.npy is [kh, kw] or [Cout, Cin, kh, kw] (or [k] /
// [Cout, Cin, k] with a 1-D --input-size L); M.npy is [Cout·H'·W', Cin·H·W].
#include "cli.h"
#include "command_support.h"

#include "deepsc/conv/conv_matrix.h"
#include "deepsc/data/npy_tensor.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <memory>
#include <regex>
#include <sstream>

namespace deepsc::cli {

namespace {

/// Matrices up to this size are printed without --print.
constexpr int64_t kPrintRows = 24, kPrintCols = 32;
/// Cap on stride, dilation and padding (CLI11's own range checks print the largest double).
constexpr int64_t kMaxGeometry = int64_t{1} << 20;

/// "HxW" → {H, W}; "L" → {L}.
std::vector<int64_t> parse_input_size(const std::string& text) {
  static const std::regex two_d(R"(^\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*$)"), one_d(R"(^\s*(\d{1,9})\s*$)");
  std::smatch m;
  if (std::regex_match(text, m, two_d)) return {std::stoll(m[1]), std::stoll(m[2])};
  if (std::regex_match(text, m, one_d)) return {std::stoll(m[1])};
  throw std::invalid_argument("--input-size must be HxW (e.g. 4x4) or L for 1-D kernels, got '" + text + "'");
}

std::string join(const std::vector<int64_t>& dims, const char* sep) {
  std::ostringstream s;
  for (size_t i = 0; i < dims.size(); ++i) s << (i ? sep : "") << dims[i];
  return s.str();
}

/// Float kernels keep their dtype; integer ones (NumPy's default for np.array([[1, 2], [3, 4]]))
/// become float64.
torch::Tensor load_kernel(const std::string& path) {
  auto k = data::load_npy(path);
  if (k.scalar_type() == torch::kBool || !(k.is_floating_point() || c10::isIntegralType(k.scalar_type(), false))) {
    throw std::invalid_argument("--kernel " + path + ": expected float or integer data, found " + dtype_name(k.scalar_type()));
  }
  if (!k.is_floating_point()) k = k.to(torch::kDouble);
  if (k.scalar_type() != torch::kFloat && k.scalar_type() != torch::kDouble) {
    throw std::invalid_argument("--kernel " + path + ": expected float32 or float64 data, found " + dtype_name(k.scalar_type()));
  }
  return k;
}

/// The matrix as aligned columns: integers when every entry is one (the lecture's figures), else 4
/// significant digits.
void print_matrix(std::ostream& out, const torch::Tensor& a) {
  const auto m = a.to(torch::kDouble).contiguous();
  const double* v = m.data_ptr<double>();
  const int64_t rows = m.size(0), cols = m.size(1);
  const bool integral = std::all_of(v, v + m.numel(), [](double x) { return x == std::round(x) && std::abs(x) < 1e15; });
  std::vector<std::string> cells(static_cast<size_t>(m.numel()));
  size_t width = 1;
  for (int64_t i = 0; i < m.numel(); ++i) {
    std::ostringstream s;
    if (integral) {
      s << static_cast<long long>(v[i]);
    } else {
      s << std::setprecision(4) << v[i];
    }
    cells[i] = s.str();
    width = std::max(width, cells[i].size());
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out << (c ? " " : "") << std::setw(static_cast<int>(width)) << cells[r * cols + c];
    out << "\n";
  }
}

}  // namespace

Action add_conv_matrix_command(CLI::App& app) {
  struct Options {
    std::string kernel, input_size, out;
    int64_t stride = 1, dilation = 1, padding = 0;
    bool print = false, json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("conv-matrix", "Explicit matrix A of a convolution: A vec(x) = vec(conv2d(x, K))");
  cmd->add_option("--kernel", o->kernel, "Kernel K.npy: [kh, kw] or [Cout, Cin, kh, kw] ([k] or [Cout, Cin, k] for 1-D)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--input-size", o->input_size, "Input size HxW (or L for a 1-D kernel)")->required();
  cmd->add_option("--stride", o->stride, "Stride s")->check(CLI::Range(int64_t{1}, kMaxGeometry))->capture_default_str();
  cmd->add_option("--dilation", o->dilation, "Dilation d")->check(CLI::Range(int64_t{1}, kMaxGeometry))->capture_default_str();
  cmd->add_option("--padding", o->padding, "Zero padding p on every side")
      ->check(CLI::Range(int64_t{0}, kMaxGeometry))
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Matrix M.npy [Cout H' W', Cin H W] (written atomically)")->required();
  cmd->add_flag("--print", o->print, "Print the matrix (done anyway up to 24 x 32)");
  cmd->add_flag("--json", o->json, "Print a JSON summary instead of text");
  return [o](Context& ctx) {
    const auto size = parse_input_size(o->input_size);
    const auto kernel = load_kernel(o->kernel).to(parse_device(ctx.runtime.device));
    const auto geometry = conv::ConvMatrixOptions().stride(o->stride).dilation(o->dilation).padding(o->padding);
    const auto out_size = conv::convolution_output_size(kernel, size, geometry);
    const auto a = conv::convolution_matrix(kernel, size, geometry).cpu();
    data::save_npy(o->out, a);

    if (o->json) {
      ctx.out << nlohmann::json{{"rows", a.size(0)},          {"cols", a.size(1)},     {"kernel", kernel.sizes().vec()},
                                {"input_size", size},         {"output_size", out_size}, {"stride", o->stride},
                                {"dilation", o->dilation},    {"padding", o->padding}, {"out", o->out}}
                     .dump()
              << "\n";
      return;
    }
    ctx.out << "A [" << a.size(0) << ", " << a.size(1) << "]: conv" << size.size() << "d of a kernel ["
            << join(kernel.sizes().vec(), ", ") << "] on a " << join(size, "x") << " input (stride " << o->stride
            << ", dilation " << o->dilation << ", padding " << o->padding << ") gives a " << join(out_size, "x")
            << " output; written to " << o->out << "\n";
    if (o->print || (a.size(0) <= kPrintRows && a.size(1) <= kPrintCols)) print_matrix(ctx.out, a);
  };
}

}  // namespace deepsc::cli
