// deepsc._C: the CSC layer behind deepsc.nn.CscLayer, and models trained by `deepsc train`.
//
// CscLayer: the Python module owns the parameters (nn.Parameter weight and λ) and the
// power-iteration buffer; every forward hands them to the C++ nn::CscLayer, whose unrolled pursuit
// builds the autograd graph in C++ (backward runs in LibTorch's engine, no Python per step).
//
// TrainedRun: a checkpoint with its run configuration, rebuilt as the nn::Classifier that
// `deepsc train` trained; its parameters and buffers are the C++ module's own tensors.
#include "bindings.h"

#include "deepsc/data/loader.h"
#include "deepsc/nn/csc_layer.h"
#include "deepsc/train/checkpoint.h"
#include "deepsc/train/config.h"
#include "deepsc/train/trained_run.h"

#include <optional>

namespace deepsc::python {

namespace {

/// The C++ half of deepsc.nn.CscLayer.
struct CscLayerCore {
  nn::CscLayer layer;

  /// The registered buffer "power_vector" (the same tensor the layer's forward updates in place).
  torch::Tensor power_vector() const { return layer->named_buffers(false)["power_vector"]; }

  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& weight,
                                                  const std::optional<torch::Tensor>& lambda,
                                                  const torch::Tensor& warm_vector, bool training) {
    check_float_tensor(x, "the input", {4}, /*finite=*/false);  // NaN propagates, as through any layer
    check_same_kind(weight, "the weight", x, "the input");
    if (weight.sizes() != layer->weight.sizes()) {
      throw std::invalid_argument("the weight must be " + c10::str(layer->weight.sizes()) + ", got " +
                                  c10::str(weight.sizes()));
    }
    layer->weight = weight;
    if (layer->options.learnable_lambda()) {
      if (!lambda) throw std::invalid_argument("a layer with a learnable lambda needs its lambda parameter");
      layer->lambda = *lambda;
    }
    auto buffer = power_vector();
    if (!buffer.is_same(warm_vector)) buffer.set_(warm_vector);
    layer->train(training);
    auto codes = layer->forward(x);
    return {codes, buffer};
  }
};

using train::TrainedRun;

TrainedRun load_run(const std::string& checkpoint, const std::string& config_path, const std::vector<std::string>& overrides) {
  return train::load_trained_run(checkpoint, train::load_config(config_path, overrides));
}

/// Normalised images [N, C, H, W] and labels [N] of a split, in data order, through the run's
/// test transform (what `deepsc eval` feeds the model); `limit` > 0 keeps the first `limit`.
std::pair<torch::Tensor, torch::Tensor> split_data(const TrainedRun& run, const std::string& split, int64_t limit) {
  auto config = run.config;
  config.data.test_split = split;
  const auto pipeline = split == run.config.data.test_split ? run.pipeline : train::build_data(config.data);
  data::DataLoader loader(pipeline.test, pipeline.test_transform,
                          data::LoaderOptions().batch_size(config.train.eval_batch_size).shuffle(false).workers(config.data.workers));
  std::vector<torch::Tensor> images, labels;
  int64_t kept = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    images.push_back(batch->images), labels.push_back(batch->labels);
    kept += batch->labels.size(0);
    if (limit > 0 && kept >= limit) break;
  }
  if (images.empty()) throw std::invalid_argument("split '" + split + "' has no images");
  auto x = torch::cat(images), y = torch::cat(labels);
  if (limit > 0 && x.size(0) > limit) x = x.narrow(0, 0, limit), y = y.narrow(0, 0, limit);
  return {x, y};
}

py::list named_tensors(const torch::OrderedDict<std::string, torch::Tensor>& items) {
  py::list out;
  for (const auto& item : items) out.append(py::make_tuple(item.key(), item.value()));
  return out;
}

}  // namespace

void bind_nn(py::module_& m) {
  using Release = py::call_guard<py::gil_scoped_release>;
  py::class_<CscLayerCore>(m, "CscLayerCore", "The C++ nn::CscLayer behind deepsc.nn.CscLayer")
      .def(py::init([](int64_t in_channels, int64_t atoms, int64_t kernel_size, int64_t stride, int64_t padding,
                       int64_t dilation, double lambda, bool learnable_lambda, int64_t iterations,
                       const std::string& solver, bool nonneg, double step_scale, bool normalize_atoms,
                       int64_t power_iterations, double power_tol) {
             return CscLayerCore{nn::CscLayer(nn::CscLayerOptions(in_channels, atoms, kernel_size)
                                                  .stride(stride)
                                                  .padding(padding)
                                                  .dilation(dilation)
                                                  .lambda(lambda)
                                                  .learnable_lambda(learnable_lambda)
                                                  .iterations(iterations)
                                                  .solver(nn::parse_csc_solver(solver))
                                                  .nonneg(nonneg)
                                                  .step_scale(step_scale)
                                                  .normalize_atoms(normalize_atoms)
                                                  .power_iterations(power_iterations)
                                                  .power_tol(power_tol))};
           }),
           py::arg("in_channels"), py::arg("atoms"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
           py::arg("dilation"), py::arg("lam"), py::arg("learnable_lambda"), py::arg("iterations"), py::arg("solver"),
           py::arg("nonneg"), py::arg("step_scale"), py::arg("normalize_atoms"), py::arg("power_iterations"),
           py::arg("power_tol"))
      .def_property_readonly("initial_weight", [](const CscLayerCore& c) { return c.layer->weight.detach().clone(); })
      .def_property_readonly("initial_lambda", [](const CscLayerCore& c) {
        return c.layer->lambda.defined() ? std::optional<torch::Tensor>(c.layer->lambda.detach().clone()) : std::nullopt;
      })
      .def_property_readonly("power_vector", &CscLayerCore::power_vector)
      .def("forward", &CscLayerCore::forward, py::arg("x"), py::arg("weight"), py::arg("lam"), py::arg("power_vector"),
           py::arg("training"), Release())
      .def_property(
          "lam", [](const CscLayerCore& c) { return c.layer->options.lambda(); },
          [](CscLayerCore& c, double v) { c.layer->set_lambda(v); })
      .def_property_readonly("last_lipschitz", [](const CscLayerCore& c) { return c.layer->last_lipschitz(); })
      .def_property_readonly("last_step", [](const CscLayerCore& c) { return c.layer->last_step(); })
      .def("dictionary", [](CscLayerCore& c, const torch::Tensor& weight) {
        c.layer->weight = weight;
        return c.layer->dictionary();
      })
      .def("__repr__", [](const CscLayerCore& c) {
        std::ostringstream s;
        c.layer->pretty_print(s);
        return s.str();
      });

  py::class_<TrainedRun>(m, "TrainedRun", "A model trained by deepsc train, with its configuration")
      .def_property_readonly("model_name", [](const TrainedRun& r) { return r.config.model.name; })
      .def_property_readonly("data_kind", [](const TrainedRun& r) { return r.config.data.kind; })
      .def_property_readonly("mean", [](const TrainedRun& r) { return r.pipeline.mean; })
      .def_property_readonly("std", [](const TrainedRun& r) { return r.pipeline.std; })
      .def_property_readonly("channels", [](const TrainedRun& r) { return r.pipeline.test->channels(); })
      .def_property_readonly("classes", [](const TrainedRun& r) { return r.pipeline.test->num_classes(); })
      .def("forward", [](TrainedRun& r, const torch::Tensor& x) {
        check_float_tensor(x, "the images", {4}, false);
        return r.model->forward(x);
      }, py::arg("images"), Release())
      .def("train", [](TrainedRun& r, bool mode) { r.model->train(mode); }, py::arg("mode"))
      .def("named_parameters", [](const TrainedRun& r) { return named_tensors(r.model->named_parameters()); })
      .def("named_buffers", [](const TrainedRun& r) { return named_tensors(r.model->named_buffers()); })
      .def("project_atoms", [](TrainedRun& r) {
        torch::NoGradGuard no_grad;
        train::project_csc_atoms(*r.model);
      })
      .def_property_readonly("csc_layers", [](const TrainedRun& r) { return r.model->csc_layers().size(); })
      .def("set_lambda", [](TrainedRun& r, double lambda) {
        for (auto& layer : r.model->csc_layers()) layer->set_lambda(lambda);
      }, py::arg("lam"))
      .def("save", [](TrainedRun& r, const std::string& path) {
        train::save_checkpoint(path, *r.model, nullptr, train::RunState{});
      }, py::arg("path"), Release())
      .def("data", &split_data, py::arg("split"), py::arg("limit"), Release());
  m.def("load_run", &load_run, py::arg("checkpoint"), py::arg("config"), py::arg("overrides"), Release());
}

}  // namespace deepsc::python
