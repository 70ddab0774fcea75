// deepsc coherence: mutual coherence μ(D) and the recovery bound ½(1 + 1/μ) (Donoho & Elad 2003; Theorem 2 of the lecture, Zhang 2024).
#include "cli.h"
#include "command_support.h"

#include "deepsc/sparse/coherence.h"

#include <cmath>
#include <iomanip>
#include <memory>

namespace deepsc::cli {

Action add_coherence_command(CLI::App& app) {
  struct Options {
    std::string dict;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("coherence", "Mutual coherence mu(D) and the sparsity bound 1/2 (1 + 1/mu)");
  cmd->add_option("--dict", o->dict, "Dictionary D.npy [n, m], columns are atoms")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", o->json, "Print JSON");
  return [o](Context& ctx) {
    auto d = load_float_array(o->dict, "--dict", 2).to(parse_device(ctx.runtime.device));
    const double mu = sparse::mutual_coherence(d);
    const double bound = sparse::recovery_bound(mu);
    const int64_t guaranteed = sparse::guaranteed_support_size(mu, d.size(1));
    if (o->json) {
      ctx.out << nlohmann::json{{"mu", mu}, {"bound", bound}, {"max_guaranteed_nonzeros", guaranteed},
                                {"signal_dim", d.size(0)}, {"atoms", d.size(1)}}
                     .dump()
              << "\n";
    } else {
      ctx.out << std::setprecision(6) << "mu(D) = " << mu << " for D [" << d.size(0) << ", " << d.size(1) << "]\n"
              << "BP/ISTA and OMP recover any code with ||X||_0 < 1/2 (1 + 1/mu) = " << bound << " (up to "
              << guaranteed << " non-zeros)\n";
    }
  };
}

}  // namespace deepsc::cli
