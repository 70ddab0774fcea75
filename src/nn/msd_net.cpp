#include "deepsc/nn/msd_nets.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

int64_t msd_dilation(int64_t layer, int64_t max_dilation) {
  if (layer < 1) throw std::invalid_argument("msd layer index must be >= 1, got " + std::to_string(layer));
  if (max_dilation < 1) throw std::invalid_argument("max_dilation must be >= 1, got " + std::to_string(max_dilation));
  return (layer - 1) % max_dilation + 1;
}

void check_msd_net_options(const MsdNetOptions& o) {
  const auto at_least = [](int64_t value, int64_t min, const char* name) {
    if (value < min)
      throw std::invalid_argument(std::string(name) + " must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  };
  at_least(o.in_channels(), 1, "in_channels");
  at_least(o.num_classes(), 1, "num_classes");
  at_least(o.stem_channels(), 1, "channels");
  at_least(o.blocks(), 1, "blocks");
  at_least(o.depth(), 1, "depth");
  at_least(o.growth(), 1, "growth");
  at_least(o.max_dilation(), 1, "max_dilation");
  at_least(o.unfoldings(), 0, "unfoldings");
}

MsdNetOptions msd_net_options(const ModelOptions& o, bool csc) {
  const std::string model = csc ? "msd-csc" : "msdnet";
  check_model_options(o);
  std::vector<std::string> used{"blocks", "depth", "growth", "max_dilation", "channels"};
  if (csc) used.push_back("unfoldings");
  check_used_options(o, model, used);
  if (o.channels().size() > 1) {
    throw std::invalid_argument("channels must have one value (the stem's channels) for " + model + ", got " +
                                std::to_string(o.channels().size()));
  }
  const auto or_default = [](int64_t value, int64_t unset, int64_t fallback) { return value == unset ? fallback : value; };
  auto out = MsdNetOptions()
                 .in_channels(o.in_channels())
                 .num_classes(o.num_classes())
                 .stem_channels(o.channels().empty() ? std::max<int64_t>(1, std::llround(16 * o.width())) : o.channels()[0])
                 .csc(csc);
  out.blocks(or_default(o.blocks(), 0, out.blocks()))
      .depth(or_default(o.depth(), 0, out.depth()))
      .growth(or_default(o.growth(), 0, out.growth()))
      .max_dilation(or_default(o.max_dilation(), 0, out.max_dilation()))
      .unfoldings(or_default(o.unfoldings(), -1, out.unfoldings()));
  check_msd_net_options(out);
  return out;
}

MsdNetImpl::MsdNetImpl(MsdNetOptions options) : options_(options) { reset(); }

int64_t MsdNetImpl::block_in_channels(int64_t block) const {
  int64_t c = options_.stem_channels();
  for (int64_t b = 0; b < block; ++b) c = std::max<int64_t>(1, (c + options_.depth() * options_.growth()) / 2);
  return c;
}

namespace {

/// Pelt & Sethian's initialisation: filters ~ N(0, 2/n_c), n_c the fan-in; bias 0.
torch::nn::Conv2d msd_pelt_conv(torch::nn::Conv2dOptions options) {
  torch::nn::Conv2d conv(options.bias(true));
  torch::NoGradGuard no_grad;
  const auto fan_in = conv->weight[0].numel();
  conv->weight.normal_(0, std::sqrt(2.0 / static_cast<double>(fan_in)));
  conv->bias.zero_();
  return conv;
}

}  // namespace

void MsdNetImpl::reset() {
  check_msd_net_options(options_);
  const auto& o = options_;
  // Every layer is a direct child with a flat name: Cloneable::clone() then refills these very
  // objects (a ModuleList would swap in new ones behind the typed handles below).
  stem = register_module("stem", msd_pelt_conv(torch::nn::Conv2dOptions(o.in_channels(), o.stem_channels(), 3).padding(1)));
  transitions.clear();
  msd_layers.assign(static_cast<size_t>(o.blocks()), {});
  msd_csc_layers.assign(static_cast<size_t>(o.blocks()), {});
  for (int64_t b = 0; b < o.blocks(); ++b) {
    int64_t c = block_in_channels(b);
    for (int64_t i = 1; i <= o.depth(); ++i, c += o.growth()) {
      const int64_t s = msd_dilation(i, o.max_dilation());
      const auto name = "block" + std::to_string(b + 1) + "_layer" + std::to_string(i);
      if (o.csc()) {
        msd_csc_layers[static_cast<size_t>(b)].push_back(
            register_module(name, MsdCscLayer(MsdCscLayerOptions(c, o.growth(), s).unfoldings(o.unfoldings()))));
      } else {
        msd_layers[static_cast<size_t>(b)].push_back(
            register_module(name, msd_pelt_conv(torch::nn::Conv2dOptions(c, o.growth(), 3).dilation(s).padding(s))));
      }
    }
    if (b + 1 < o.blocks()) {
      transitions.push_back(register_module("transition" + std::to_string(b + 1),
                                            msd_pelt_conv(torch::nn::Conv2dOptions(c, block_in_channels(b + 1), 1))));
    }
  }
  fc = register_module("fc", torch::nn::Linear(block_in_channels(o.blocks() - 1) + o.depth() * o.growth(), o.num_classes()));
}

void MsdNetImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options_;
  stream << "deepsc::nn::MsdNet(" << (o.csc() ? "msd-csc" : "msdnet") << ", in_channels=" << o.in_channels()
         << ", stem_channels=" << o.stem_channels() << ", blocks=" << o.blocks() << ", depth=" << o.depth()
         << ", growth=" << o.growth() << ", max_dilation=" << o.max_dilation();
  if (o.csc()) stream << ", unfoldings=" << o.unfoldings();
  stream << ", num_classes=" << o.num_classes() << ")";
}

std::vector<torch::Tensor> MsdNetImpl::stacks(const torch::Tensor& images) {
  const auto& o = options_;
  const int64_t min_side = int64_t{1} << (o.blocks() - 1);
  if (!images.defined() || images.dim() != 4 || images.size(1) != o.in_channels() || images.size(2) < min_side ||
      images.size(3) < min_side) {
    std::ostringstream msg;
    msg << "images must be [N, " << o.in_channels() << ", H, W] with H, W >= " << min_side << " (" << o.blocks()
        << " blocks), got " << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  std::vector<torch::Tensor> out;
  auto x = torch::relu(stem(images));  // ≥ 0: the first stack of non-negative codes
  for (int64_t b = 0; b < o.blocks(); ++b) {
    if (b > 0) x = torch::avg_pool2d(torch::relu(transitions[static_cast<size_t>(b - 1)](x)), 2);
    for (int64_t i = 0; i < o.depth(); ++i) {
      const auto bi = static_cast<size_t>(b), ii = static_cast<size_t>(i);
      x = o.csc() ? msd_csc_layers[bi][ii](x) : torch::cat({x, torch::relu(msd_layers[bi][ii](x))}, 1);
      out.push_back(x);
    }
  }
  return out;
}

torch::Tensor MsdNetImpl::forward(torch::Tensor images) { return fc(stacks(images).back().mean({2, 3})); }

std::shared_ptr<Classifier> make_msd_net(const ModelOptions& options) {
  return std::make_shared<MsdNetImpl>(msd_net_options(options, false));
}

}  // namespace deepsc::nn
