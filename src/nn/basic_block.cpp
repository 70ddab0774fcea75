#include "deepsc/nn/basic_block.h"

#include <stdexcept>

namespace deepsc::nn {

BasicBlockImpl::BasicBlockImpl(const BasicBlockOptions& options_) : options(options_) { reset(); }

void BasicBlockImpl::reset() {
  const auto& o = options;
  if (o.in_planes() < 1) throw std::invalid_argument("in_planes must be >= 1, got " + std::to_string(o.in_planes()));
  if (o.planes() < 1) throw std::invalid_argument("planes must be >= 1, got " + std::to_string(o.planes()));
  if (o.stride() < 1) throw std::invalid_argument("stride must be >= 1, got " + std::to_string(o.stride()));
  auto conv3x3 = [&](int64_t in, int64_t stride, const char* name, torch::nn::Conv2d& conv, CscLayer& csc) {
    if (o.csc()) {
      auto c = *o.csc();
      c.in_channels(in).atoms(o.planes()).kernel_size(3).stride(stride).padding(1).dilation(1);
      csc = register_module(name, CscLayer(c));
    } else {
      conv = register_module(
          name, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, o.planes(), 3).stride(stride).padding(1).bias(false)));
    }
  };
  conv1 = nullptr, conv2 = nullptr, csc1 = nullptr, csc2 = nullptr, downsample = nullptr;
  conv3x3(o.in_planes(), o.stride(), "conv1", conv1, csc1);
  bn1 = register_module("bn1", BatchNorm2d(o.planes()));
  conv3x3(o.planes(), 1, "conv2", conv2, csc2);
  bn2 = register_module("bn2", BatchNorm2d(o.planes()));
  if (o.shortcut() && (o.stride() != 1 || o.in_planes() != o.planes())) {
    downsample = register_module(
        "downsample",
        torch::nn::Sequential(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_planes(), o.planes(), 1).stride(o.stride()).bias(false)),
            BatchNorm2d(o.planes())));
  }
}

void BasicBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::BasicBlock(" << options.in_planes() << ", " << options.planes() << ", stride="
         << options.stride() << (options.csc() ? ", csc" : "") << (options.shortcut() ? "" : ", no shortcut") << ")";
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out;
  if (csc1) {
    out = bn2(csc2(bn1(csc1(x))));
  } else {
    out = bn2(conv2(torch::relu(bn1(conv1(x)))));
  }
  if (options.shortcut()) out = out + (downsample ? downsample->forward(x) : x);
  return torch::relu(out);
}

}  // namespace deepsc::nn
