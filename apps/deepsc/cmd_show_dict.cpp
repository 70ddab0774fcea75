// deepsc show-dict: a picture of any dictionary — dense D [n, m] (atoms are columns, p×p grey or
// 3·p·p colour patches) or convolutional W [M, C, k, k] — as a grid of contrast-stretched atoms,
// with the atom statistics (oriented, band-pass, localised) of dense grey dictionaries.
#include "atom_report.h"
#include "command_support.h"
#include "restore_support.h"

#include "deepsc/viz/image_grid.h"

#include <memory>

namespace deepsc::cli {

namespace {

struct ShowDictOptions {
  std::string dict, png;
  int64_t channels = 0, columns = 0, scale = 0;
  bool json = false;
};

void run_show_dict(const ShowDictOptions& o, Context& ctx) {
  restore::check_output_paths({{o.png, "--png"}});
  const auto atoms = load_float_array(o.dict, "--dict", std::vector<int64_t>{2, 4});
  nlohmann::json report{{"dict", o.dict}, {"png", o.png}, {"shape", atoms.sizes().vec()}};
  int64_t channels = 0, side = 0;
  if (atoms.dim() == 2) {
    // Grey unless --channels says otherwise or only a colour reading fits (n = 3p² but not p²).
    channels = o.channels > 0 ? o.channels : (square_side(atoms.size(0)) > 0 ? 1 : 3);
    side = square_side(atoms.size(0), channels);
    if (side == 0) {
      throw std::invalid_argument("--dict " + o.dict + ": " + std::to_string(atoms.size(0)) +
                                  "-dimensional atoms are not " + (channels == 1 ? "grey p x p" : std::to_string(channels) + " x p x p") +
                                  " patches (set --channels)");
    }
  } else {
    channels = atoms.size(1);
    side = atoms.size(2);
    if (channels != 1 && channels != 3)
      throw std::invalid_argument("--dict " + o.dict + ": convolutional atoms with " + std::to_string(channels) +
                                  " channels cannot be drawn (1 or 3)");
  }
  // Small atoms are enlarged so the picture is readable: at least 48 pixels per atom unless --scale.
  const int64_t scale = o.scale > 0 ? o.scale : viz::visible_scale(side);
  viz::write_dictionary_png(o.png, atoms, channels, o.columns, scale);
  report.update({{"atoms", atoms.dim() == 2 ? atoms.size(1) : atoms.size(0)}, {"channels", channels}, {"side", side}});

  // Receptive-field statistics for dense grey dictionaries, beside those of a random one.
  std::string statistics;
  if (atoms.dim() == 2 && channels == 1) report["statistics"] = atom_statistics_report(atoms, ctx.runtime.seed, &statistics);
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << "drew " << report["atoms"].get<int64_t>() << " atoms of " << side << "x" << side
          << (channels == 3 ? " (colour)" : "") << " -> " << o.png << "\n";
  if (!statistics.empty()) ctx.out << statistics << "\n";
}

}  // namespace

Action add_show_dict_command(CLI::App& app) {
  auto o = std::make_shared<ShowDictOptions>();
  auto* cmd = app.add_subcommand("show-dict", "Picture of a dictionary's atoms (dense D [n, m] or convolutional W [M, C, k, k])");
  cmd->add_option("--dict", o->dict, "Dictionary .npy: D [n, m] (atoms are columns) or W [M, C, k, k]")->required();
  cmd->add_option("--png", o->png, "Picture of the atoms (PNG, written atomically)")->required();
  cmd->add_option("--channels", o->channels, "Channels of a dense dictionary's atoms (default: 1 if n is a square, else 3)")
      ->check(CLI::IsMember({1, 3}));
  cmd->add_option("--columns", o->columns, "Atoms per row of the grid (0: square grid)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--scale", o->scale, "Pixels per atom pixel (0: at least 48 pixels per atom)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--json", o->json, "Print a JSON report (with the atom statistics)");
  return [o](Context& ctx) { run_show_dict(*o, ctx); };
}

}  // namespace deepsc::cli
