#include "cli.h"

#include "deepsc/data/message_text.h"

#include <c10/util/Exception.h>

#include <iostream>
#include <sstream>

namespace deepsc::cli {

/// cmd_conv_matrix.cpp: `deepsc conv-matrix` (explicit convolution matrices).
Action add_conv_matrix_command(CLI::App& app);
/// cmd_learn_conv_dict.cpp: `deepsc learn-conv-dict` (convolutional dictionary learning).
Action add_learn_conv_dict_command(CLI::App& app);
/// cmd_learn_dict.cpp, cmd_show_dict.cpp, cmd_denoise.cpp: dense dictionary learning on patches,
/// pictures of dictionaries, patch-based denoising (`learn-dict`, `show-dict`, `denoise`).
Action add_learn_dict_command(CLI::App& app);
Action add_show_dict_command(CLI::App& app);
Action add_denoise_command(CLI::App& app);
/// cmd_csc_denoise.cpp, cmd_csc_inpaint.cpp: `deepsc csc-denoise`, `deepsc csc-inpaint`.
Action add_csc_denoise_command(CLI::App& app);
Action add_csc_inpaint_command(CLI::App& app);
/// cmd_train_denoiser.cpp: `deepsc train-denoiser`.
Action add_train_denoiser_command(CLI::App& app);
/// cmd_train.cpp, cmd_eval.cpp, cmd_benchmark.cpp: training and evaluating classifiers.
Action add_train_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_filters_command(CLI::App& app);
Action add_benchmark_command(CLI::App& app);
Action add_launch_command(CLI::App& app);
/// cmd_attack.cpp: `deepsc attack` (accuracy under adversarial attacks, λ re-chosen).
Action add_attack_command(CLI::App& app);
/// cmd_robust.cpp: `deepsc robust` (accuracy under noise: λ sweep, fitted λ(r), per-sample λ).
Action add_robust_command(CLI::App& app);
/// cmd_mlcsc_encode.cpp, cmd_mlcsc_sim.cpp: multi-layer sparse codes with their theorem check
/// (`mlcsc-encode`) and the ML-CSC simulation study (`mlcsc-sim`).
Action add_mlcsc_encode_command(CLI::App& app);
Action add_mlcsc_sim_command(CLI::App& app);

void add_runtime_options(CLI::App& command, RuntimeOptions& runtime) {
  command.add_option("--threads", runtime.threads, "LibTorch intra-op threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--device", runtime.device, "Device: cpu, cuda or cuda:N")->capture_default_str();
  command.add_option("--seed", runtime.seed, "Seed of every random choice")->capture_default_str();
}

// The first line of a message, printable (c10 errors carry a backtrace after it).
using data::first_line;

int run(int argc, const char* const argv[], std::ostream& out, std::ostream& err) {
  CLI::App app{"deepsc: sparse coding, convolutional sparse coding and sparse-coding networks", "deepsc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("deepsc ") + version());
  app.failure_message(CLI::FailureMessage::help);

  Context context{out, err, {}};
  std::vector<std::pair<CLI::App*, Action>> commands;
  auto add = [&](Action (*adder)(CLI::App&)) {
    Action action = adder(app);
    CLI::App* command = app.get_subcommands({}).back();
    add_runtime_options(*command, context.runtime);
    commands.emplace_back(command, std::move(action));
  };
  add(&add_encode_command);
  add(&add_coherence_command);
  add(&add_conv_matrix_command);
  add(&add_learn_dict_command);
  add(&add_show_dict_command);
  add(&add_denoise_command);
  add(&add_learn_conv_dict_command);
  add(&add_csc_denoise_command);
  add(&add_csc_inpaint_command);
  add(&add_train_denoiser_command);
  add(&add_demo_command);
  add(&add_train_command);
  add(&add_eval_command);
  add(&add_filters_command);
  add(&add_benchmark_command);
  add(&add_launch_command);
  add(&add_attack_command);
  add(&add_robust_command);
  add(&add_mlcsc_encode_command);
  add(&add_mlcsc_sim_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();  // CLI11 forwards to the selected subcommand's help
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "deepsc: " << first_line(e.what()) << " (see deepsc --help)\n";
    return 2;
  }

  try {
    apply_runtime(context.runtime);
    (void)parse_device(context.runtime.device);
    for (auto& [command, action] : commands)
      if (command->parsed()) {
        action(context);
        return 0;
      }
    err << "deepsc: no command given (see deepsc --help)\n";
    return 2;
  } catch (const c10::Error& e) {
    err << "deepsc: error: " << first_line(e.what_without_backtrace()) << "\n";
  } catch (const std::exception& e) {
    err << "deepsc: error: " << first_line(e.what()) << "\n";
  }
  return 1;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<const char*> argv{"deepsc"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return run(static_cast<int>(argv.size()), argv.data(), out, err);
}

}  // namespace deepsc::cli
