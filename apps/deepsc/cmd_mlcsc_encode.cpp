// deepsc mlcsc-encode: the codes X̂₁ … X̂_K of signals Y under a multi-layer (convolutional) sparse
// coding model, by a pursuit of deepsc/mlcsc/pursuit_registry.h, and with --check their comparison
// with the true codes against the recovery theorems (deepsc/mlcsc/encode_check.h). Dense layers
// D_i [n_{i−1}, n_i] take signals Y [N, n₀]; convolutional ones W_i [M_i, M_{i−1}, k(, k)] take
// [N, C, L] or [N, C, H, W], with a stride, padding and dilation per layer.
#include "cli.h"
#include "command_support.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/mlcsc/encode_check.h"
#include "deepsc/mlcsc/levels.h"

#include <filesystem>
#include <iomanip>
#include <optional>

namespace deepsc::cli {

namespace {

struct MlcscEncodeCommand {
  std::vector<std::string> dicts, conv_dicts;
  std::string signals, pursuit = "thresholding", beta, lambda, out_dir, true_dir, stride = "1", padding = "0", dilation = "1";
  bool nonneg = false, hard = false, normalize = false, json = false, check = false;
  int64_t max_iter = 1000;
  double tol = 1e-7;
};

/// The checks that need no file, in the command line's words.
mlcsc::Pursuit check_choices(const MlcscEncodeCommand& o) {
  const auto pursuit = mlcsc::parse_pursuit(o.pursuit);
  const std::string name = "--pursuit " + o.pursuit;
  if (o.dicts.empty() && o.conv_dicts.empty()) throw std::invalid_argument("mlcsc-encode needs --dict or --conv-dict, once per layer");
  if (mlcsc::takes_thresholds(pursuit) && !o.lambda.empty())
    throw std::invalid_argument("--lambda does not apply to " + name + "; it takes --beta b1,b2,... (one threshold per layer)");
  if (!mlcsc::takes_thresholds(pursuit) && !o.beta.empty())
    throw std::invalid_argument("--beta goes with --pursuit thresholding; " + name + " takes --lambda l1,l2,...");
  if (o.beta.empty() && o.lambda.empty())
    throw std::invalid_argument(name + " needs " + (mlcsc::takes_thresholds(pursuit) ? "--beta b1,b2,..." : "--lambda l1,l2,...") +
                                " (one value per layer)");
  if (o.hard && !mlcsc::takes_thresholds(pursuit))
    throw std::invalid_argument("--hard is for --pursuit thresholding only; " + o.pursuit + " takes soft or --nonneg shrinkage");
  if (o.check && o.true_dir.empty()) throw std::invalid_argument("--check needs --true-dir DIR holding X1.npy ... XK.npy");
  return pursuit;
}

/// "2" or "1,2,2": one value for every layer or one per layer.
std::vector<int64_t> per_layer(const std::string& text, const std::string& option, size_t layers, int64_t minimum) {
  auto values = mlcsc::parse_integer_range(text, option, minimum);
  if (values.size() == 1) values.assign(layers, values.front());
  if (values.size() != layers)
    throw std::invalid_argument(option + " has " + std::to_string(values.size()) + " values but the model has " +
                                std::to_string(layers) + " layers (give one, or one per layer)");
  return values;
}

/// The dictionaries as a model for these signals (same dtype as the signals, on `device`).
mlcsc::MlcscModel load_layers(const MlcscEncodeCommand& o, const torch::Tensor& y, const torch::Device& device) {
  const bool conv = !o.conv_dicts.empty();
  std::vector<torch::Tensor> layers;
  for (const auto& path : conv ? o.conv_dicts : o.dicts) {
    auto w = conv ? load_float_array(path, "--conv-dict", y.dim()) : load_float_array(path, "--dict", 2);
    if (w.scalar_type() != y.scalar_type())
      throw std::invalid_argument((conv ? "--conv-dict " : "--dict ") + path + " is " + dtype_name(w.scalar_type()) +
                                  " but --signals is " + dtype_name(y.scalar_type()) + "; save all with one dtype");
    layers.push_back(w.to(device));
  }
  if (!conv) return mlcsc::dense_model(layers, o.normalize);
  const auto strides = per_layer(o.stride, "--stride", layers.size(), 1);
  const auto paddings = per_layer(o.padding, "--padding", layers.size(), 0);
  const auto dilations = per_layer(o.dilation, "--dilation", layers.size(), 1);
  std::vector<conv::ConvOptions> geometry(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) geometry[i].stride(strides[i]).padding(paddings[i]).dilation(dilations[i]);
  return mlcsc::conv_model_for_signals(layers, geometry, y.sizes(), o.normalize);
}

/// X1.npy … XK.npy of --true-dir in the signals' dtype (check_encoding compares their shapes).
std::vector<torch::Tensor> load_true_codes(const std::string& dir, int64_t depth, const torch::Tensor& y) {
  std::vector<torch::Tensor> codes;
  for (int64_t i = 1; i <= depth; ++i) {
    const auto path = dir + "/X" + std::to_string(i) + ".npy";
    if (!std::filesystem::is_regular_file(path))
      throw std::invalid_argument("--true-dir " + dir + " has no X" + std::to_string(i) + ".npy (the check needs X1.npy ... X" +
                                  std::to_string(depth) + ".npy)");
    codes.push_back(load_float_array(path, "--true-dir", y.dim()).to(y.options()));
  }
  return codes;
}

void report_codes(const MlcscEncodeCommand& o, Context& ctx, const mlcsc::LayeredCodes& codes, const std::vector<double>& values,
            double seconds, const mlcsc::EncodeCheck* check) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < codes.codes.size(); ++i) {
    const auto& x = codes.codes[i];
    layers.push_back({{"layer", i + 1},
                      {"shape", x.sizes().vec()},
                      {"nonzeros_per_signal", (x != 0).sum().item<double>() / std::max<int64_t>(x.size(0), 1)},
                      {"file", o.out_dir + "/X" + std::to_string(i + 1) + ".npy"}});
    if (codes.iterations.size() == codes.codes.size()) layers.back()["iterations"] = codes.iterations[i];
  }
  nlohmann::json j{{"pursuit", o.pursuit}, {mlcsc::takes_thresholds(mlcsc::parse_pursuit(o.pursuit)) ? "beta" : "lambda", values},
                   {"iterations", codes.iterations}, {"converged", codes.converged}, {"seconds", seconds}, {"layers", layers}};
  if (check) j["check"] = mlcsc::encode_check_json(*check);
  if (o.json) {
    ctx.out << j.dump() << "\n";
    return;
  }
  for (const auto& l : layers)
    ctx.out << "X" << l["layer"] << " " << l["shape"].dump() << ": " << std::setprecision(4) << l["nonzeros_per_signal"].get<double>()
            << " non-zeros per signal" << (l.contains("iterations") ? ", " + l["iterations"].dump() + " iterations" : "")
            << " -> " << l["file"].get<std::string>() << "\n";
  ctx.out << o.pursuit << ": " << (codes.converged ? "converged" : "NOT converged (raise --max-iter or --tol)") << ", "
          << j["iterations"].dump() << " iterations, " << std::setprecision(3) << seconds << " s\n";
  if (check) ctx.out << mlcsc::encode_check_table(*check);
}

void run_mlcsc_encode(const MlcscEncodeCommand& o, Context& ctx) {
  const auto pursuit = check_choices(o);
  const auto device = parse_device(ctx.runtime.device);
  const bool conv = !o.conv_dicts.empty();
  auto y = conv ? load_float_array(o.signals, "--signals", std::vector<int64_t>{3, 4}) : load_float_array(o.signals, "--signals", 2);
  const auto model = load_layers(o, y, device);
  y = y.to(device);
  model.layer(0).check_signals(y, "--signals");
  (void)model.shapes(y.sizes());  // the layers chain on these signals
  const auto values = mlcsc::parse_layer_values(o.beta.empty() ? o.lambda : o.beta, o.beta.empty() ? "--lambda" : "--beta");
  mlcsc::check_layer_values(values, model.depth(), o.beta.empty() ? "--lambda" : "--beta");
  const auto truth = o.check ? load_true_codes(o.true_dir, model.depth(), y) : std::vector<torch::Tensor>{};
  const auto request = mlcsc::PursuitRequest(values)
                           .shrinkage(o.hard ? sparse::Shrinkage::Hard : o.nonneg ? sparse::Shrinkage::NonNegSoft : sparse::Shrinkage::Soft)
                           .max_iter(o.max_iter)
                           .tol(o.tol);
  Stopwatch clock;
  const auto codes = mlcsc::run_pursuit(pursuit, model, y, request);
  const double seconds = clock.seconds();
  std::optional<mlcsc::EncodeCheck> check;
  if (o.check) check = mlcsc::check_encoding(model, y, truth, pursuit, request, codes.codes);
  ensure_directory(o.out_dir);  // only now: a refused run leaves nothing behind
  for (size_t i = 0; i < codes.codes.size(); ++i)
    data::save_npy(o.out_dir + "/X" + std::to_string(i + 1) + ".npy", codes.codes[i].detach().cpu());
  report_codes(o, ctx, codes, values, seconds, check ? &*check : nullptr);
}

}  // namespace

Action add_mlcsc_encode_command(CLI::App& app) {
  auto o = std::make_shared<MlcscEncodeCommand>();
  auto* cmd = app.add_subcommand("mlcsc-encode", "Multi-layer sparse codes X1..XK of signals Y = D1 D2 ... DK XK by a layered pursuit");
  auto* dict = cmd->add_option("--dict", o->dicts, "Dense D_i.npy [n_{i-1}, n_i], once per layer in order")->check(CLI::ExistingFile);
  auto* conv = cmd->add_option("--conv-dict", o->conv_dicts, "Convolutional W_i.npy [M_i, M_{i-1}, k(, k)], once per layer")
                   ->check(CLI::ExistingFile);
  dict->excludes(conv);
  cmd->add_option("--signals", o->signals, "Signals Y.npy: [N, n0] with --dict; [N, C, L] or [N, C, H, W] with --conv-dict")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--pursuit", o->pursuit, "thresholding | layered-bp | layered-ista | ml-ista | ml-fista")->capture_default_str();
  cmd->add_option("--beta", o->beta, "thresholding: thresholds b1,b2,... (one per layer)");
  cmd->add_option("--lambda", o->lambda, "the others: l1,l2,... (one per layer; layered-bp with all 0 is basis pursuit)");
  auto* nonneg = cmd->add_flag("--nonneg", o->nonneg, "Non-negative soft shrinkage (codes >= 0; thresholding is then a ReLU network)");
  cmd->add_flag("--hard", o->hard, "thresholding: hard instead of soft thresholds")->excludes(nonneg);
  cmd->add_option("--max-iter", o->max_iter, "Iteration cap (per layer for layered-bp)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--tol", o->tol, "Stop rule's tolerance (0: run --max-iter)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--stride", o->stride, "--conv-dict: s, or s1,s2,... per layer")->needs(conv)->capture_default_str();
  cmd->add_option("--padding", o->padding, "--conv-dict: p, or one per layer")->needs(conv)->capture_default_str();
  cmd->add_option("--dilation", o->dilation, "--conv-dict: d, or one per layer")->needs(conv)->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "Rescale every atom to unit norm first");
  cmd->add_option("--out-dir", o->out_dir, "Folder for X1.npy ... XK.npy (created; written only when everything succeeded)")->required();
  cmd->add_flag("--check", o->check, "Compare with the true codes of --true-dir against the recovery theorems");
  cmd->add_option("--true-dir", o->true_dir, "Folder holding the true X1.npy ... XK.npy (for --check)");
  cmd->add_flag("--json", o->json, "Print one JSON line");
  return [o](Context& ctx) { run_mlcsc_encode(*o, ctx); };
}

}  // namespace deepsc::cli
