#include "deepsc/nn/resnet.h"

#include "deepsc/nn/basic_block.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

ResNetImpl::ResNetImpl(ResNetSpec spec, ModelOptions options) : spec_(std::move(spec)), options_(options) { reset(); }

int64_t ResNetImpl::stage_width(int64_t stage) const {
  return std::max<int64_t>(1, std::llround(static_cast<double>(int64_t{64} << stage) * options_.width()));
}

void ResNetImpl::reset() {
  check_model_options(options_);
  if (spec_.layers.size() != 4)
    throw std::invalid_argument("a ResNet needs 4 stages, got " + std::to_string(spec_.layers.size()));
  for (auto n : spec_.layers)
    if (n < 1) throw std::invalid_argument("every stage needs >= 1 block, got " + std::to_string(n));
  const auto& o = options_;
  const bool imagenet = o.stem() == Stem::ImageNet;
  const int64_t k = imagenet ? 7 : 3, s = imagenet ? 2 : 1, p = imagenet ? 3 : 1, width0 = stage_width(0);
  conv1 = nullptr;
  csc1 = nullptr;
  if (spec_.csc_stem) {
    auto stem = o.csc();
    stem.in_channels(o.in_channels()).atoms(width0).kernel_size(k).stride(s).padding(p).dilation(1);
    csc1 = register_module("conv1", CscLayer(stem));
  } else {
    conv1 = register_module(
        "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels(), width0, k).stride(s).padding(p).bias(false)));
  }
  bn1 = register_module("bn1", BatchNorm2d(width0));

  int64_t in_planes = width0;
  torch::nn::Sequential* stages[] = {&layer1, &layer2, &layer3, &layer4};
  for (int64_t i = 0; i < 4; ++i) {
    torch::nn::Sequential stage;
    const int64_t planes = stage_width(i);
    for (int64_t b = 0; b < spec_.layers[static_cast<size_t>(i)]; ++b) {
      BasicBlockOptions block(in_planes, planes, b == 0 && i > 0 ? 2 : 1);
      block.shortcut(spec_.shortcut);
      if (spec_.csc_blocks) block.csc(o.csc());
      stage->push_back(BasicBlock(block));
      in_planes = planes;
    }
    *stages[i] = register_module("layer" + std::to_string(i + 1), stage);
  }
  fc = register_module("fc", torch::nn::Linear(in_planes, o.num_classes()));

  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
    } else if (auto* csc = m->as<CscLayer>()) {
      torch::nn::init::kaiming_normal_(csc->weight, 0, torch::kFanOut, torch::kReLU);
      // The layer codes over unit-norm atoms; starting W on the sphere keeps the optimiser's first
      // steps those of the published layer (which projects W in place).
      if (csc->options.normalize_atoms()) csc->project_atoms();
    } else if (auto* bn = m->as<BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

void ResNetImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::ResNet(layers={";
  for (size_t i = 0; i < spec_.layers.size(); ++i) stream << (i ? ", " : "") << spec_.layers[i];
  stream << "}" << (spec_.csc_stem ? ", csc stem" : "") << (spec_.csc_blocks ? ", csc blocks" : "")
         << (spec_.shortcut ? "" : ", no shortcut") << ", stem=" << stem_name(options_.stem())
         << ", width=" << options_.width() << ", in_channels=" << options_.in_channels()
         << ", num_classes=" << options_.num_classes() << ")";
}

torch::Tensor ResNetImpl::forward(torch::Tensor images) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != options_.in_channels()) {
    std::ostringstream msg;
    msg << "images must be [N, " << options_.in_channels() << ", H, W], got "
        << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  auto x = csc1 ? bn1(csc1(images)) : torch::relu(bn1(conv1(images)));
  if (options_.stem() == Stem::ImageNet) x = torch::max_pool2d(x, 3, 2, 1);
  x = layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
  return fc(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

std::vector<CscLayer> ResNetImpl::csc_layers() const {
  std::vector<CscLayer> out;
  for (const auto& m : modules(/*include_self=*/false))
    if (auto csc = std::dynamic_pointer_cast<CscLayerImpl>(m)) out.emplace_back(csc);
  return out;
}

}  // namespace deepsc::nn
