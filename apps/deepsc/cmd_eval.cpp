// deepsc eval: top-1 / top-5 / loss (and the CSC layers' residuals) of a trained checkpoint on a
// data split; deepsc filters: a picture of a checkpoint's first dictionary (CSC atoms or the
// stem's convolution filters).
#include "cli.h"
#include "checkpoint_support.h"
#include "command_support.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/train/trainer.h"
#include "deepsc/viz/image_grid.h"

#include <iomanip>

namespace deepsc::cli {

namespace {

void run_eval(const CheckpointOptions& o, Context& ctx) {
  const auto device = parse_device(ctx.runtime.device);
  const auto run = load_run(o, device);
  const auto& config = run.config;
  const auto& pipeline = run.pipeline;
  const auto& model = run.model;
  data::DataLoader loader(pipeline.test, pipeline.test_transform,
                          data::LoaderOptions().batch_size(config.train.eval_batch_size).shuffle(false).workers(config.data.workers));
  const auto r = train::evaluate(*model, loader, device, config.train.label_smoothing, !o.predictions.empty());
  if (!o.predictions.empty()) data::save_npy(o.predictions, r.logits);
  if (o.json) {
    auto line = r.to_json();
    line["checkpoint"] = o.checkpoint;
    line["model"] = config.model.name;
    line["split"] = o.split;
    ctx.out << line.dump() << "\n";
    return;
  }
  // One labelled line per number (Markdown list items), so that a report can quote them as they are.
  ctx.out << config.model.name << " on " << config.data.kind << "/" << o.split << ", " << r.samples << " images:\n"
          << std::fixed << std::setprecision(2) << "- top-1 accuracy: " << 100 * r.top1 << "%\n"
          << "- top-5 accuracy: " << 100 * r.top5 << "%\n"
          << std::setprecision(4) << "- cross-entropy loss: " << r.loss << " (mean per image)\n";
  for (size_t i = 0; i < r.csc_residuals.size(); ++i)
    ctx.out << std::setprecision(2) << "- CSC layer " << i + 1 << (i == 0 && model->input_csc_layer() ? " (stem)" : "")
            << " residual ‖x − D c‖²: " << r.csc_residuals[i]
            << " (mean per image; x is the layer's input" << (i == 0 && model->input_csc_layer() ? ", the normalised image" : "")
            << ", c its sparse code)\n";
}

void run_filters(const CheckpointOptions& o, Context& ctx) {
  const auto config = checkpoint_config(o);
  const auto pipeline = train::build_data(config.data);
  auto model = load_model(o, config, *pipeline.train, torch::kCPU);
  torch::Tensor weights;  // [M, C, k, k]
  std::string what;
  const auto layers = model->csc_layers();
  if (!layers.empty()) {
    if (o.layer < 0 || o.layer >= static_cast<int64_t>(layers.size())) {
      throw std::invalid_argument("--layer " + std::to_string(o.layer) + ": the model has " +
                                  std::to_string(layers.size()) + " CSC layers");
    }
    weights = layers[o.layer]->dictionary().detach();  // the unit-norm atoms the layer codes with
    what = "CSC layer " + std::to_string(o.layer) + " atoms";
  } else {
    for (const auto& p : model->named_parameters()) {
      if (p.value().dim() == 4) {
        weights = p.value().detach();
        what = p.key() + " filters";
        break;
      }
    }
  }
  const int64_t channels = weights.size(1) == 3 ? 3 : 1;
  auto shown = channels == 3 ? weights : weights.narrow(1, 0, 1);
  viz::write_dictionary_png(o.png, shown.cpu().to(torch::kFloat), channels, 0, viz::visible_scale(weights.size(-1)));
  ctx.out << "wrote " << what << " " << weights.sizes() << " -> " << o.png << "\n";
}

}  // namespace

Action add_eval_command(CLI::App& app) {
  auto o = std::make_shared<CheckpointOptions>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained checkpoint: top-1, top-5, loss, CSC residuals");
  add_checkpoint_options(cmd, *o);
  add_data_options(cmd, *o, "Split to evaluate");
  cmd->add_flag("--json", o->json, "Print a JSON summary");
  cmd->add_option("--predictions", o->predictions, "Also write every image's logits [N, classes] (float32, data order) to this .npy");
  return [o](Context& ctx) { run_eval(*o, ctx); };
}

Action add_filters_command(CLI::App& app) {
  auto o = std::make_shared<CheckpointOptions>();
  auto* cmd = app.add_subcommand("filters", "Picture of a checkpoint's learned dictionary (CSC atoms) or stem filters");
  add_checkpoint_options(cmd, *o);
  cmd->add_option("--png", o->png, "Output picture")->required();
  cmd->add_option("--layer", o->layer, "Which CSC layer (forward order)")->capture_default_str();
  return [o](Context& ctx) { run_filters(*o, ctx); };
}

}  // namespace deepsc::cli
